"""Counters for the auth path: refusals by reason and JWKS fetches by outcome (Prometheus)."""

from prometheus_client import Counter

AUTH_REFUSALS = Counter(
    "auth_refusals_total", "Requests refused by authbridge, by reason.", ["reason"]
)
JWKS_FETCHES = Counter(
    "jwks_fetches_total",
    "JWKS fetches over HTTP, by outcome.",
    ["outcome"],  # ok | error
)
