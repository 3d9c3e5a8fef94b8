"""Counters for the auth path: refusals by reason and JWKS fetches by outcome.

Prometheus counters when ``prometheus_client`` is installed (the ``prometheus`` extra), else
counters that count nothing: the verifier never needs it.
"""

from typing import Any, Protocol


class Counter(Protocol):
    def labels(self, *values: str) -> Any: ...


class Uncounted:
    """Stands in for a prometheus_client.Counter when the library is not installed."""

    def labels(self, *values: str) -> "Uncounted":
        return self

    def inc(self, amount: float = 1) -> None:
        return None


def counter(name: str, documentation: str, labels: list[str]) -> Counter:
    try:
        from prometheus_client import Counter as PrometheusCounter
    except ImportError:
        return Uncounted()
    return PrometheusCounter(name, documentation, labels)


AUTH_REFUSALS = counter(
    "auth_refusals_total", "Requests refused by authbridge, by reason.", ["reason"]
)
JWKS_FETCHES = counter(
    "jwks_fetches_total",
    "JWKS fetches over HTTP, by outcome.",
    ["outcome"],  # ok | error
)
