"""The HTTP edge the apps share: it answers, limits, logs and measures requests.

Error bodies and refusal tables (errors), rate limits (throttles, counters), the cache backend
(cache), the request log (requestlog, logs), metrics, health and probes, the admin-only
middleware, the secrets filter, the OpenAPI helpers and shared schemas, and the PostgreSQL
backend (postgresql: Django's, reading timestamps with psycopg's C loader). It imports
authbridge at most and nothing else of this project (tests/test_architecture.py).
"""
