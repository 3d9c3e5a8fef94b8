"""The HTTP edge the apps share: it answers, limits, logs and measures requests.

Error bodies and refusal tables (errors), rate limits (throttles, counters), the cache backend
(cache), the request log (requestlog, logs), metrics, health and probes, the admin-only
middleware, the secrets filter, and the OpenAPI helpers and shared schemas. It imports
authbridge at most and nothing else of this project (tests/test_architecture.py).
"""
