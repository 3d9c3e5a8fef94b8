"""Per-user rate limits for Ninja's throttling: one counter per user and window.

Keyed on the token's user id, not ``str(request.auth)`` (Ninja's AuthRateThrottle), which holds
``iat``/``exp`` and so gives every token its own bucket. Counting goes through the counter
``settings.RATE_LIMIT_COUNTER`` names (edge.counters): shared by every worker and instance in
Redis, and failing open while it is down. The limit is read from settings per request.
"""

import hashlib
import threading
import time

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from authbridge import identity_of
from edge.counters import CountUnavailable, rate_limit_counter

READ_METHODS = frozenset({"GET", "HEAD"})


class PerUserThrottle(SimpleRateThrottle):
    """A fixed window of ``settings.<setting>`` requests per user, for the methods it counts."""

    timer = staticmethod(time.time)

    def __init__(self, *, scope: str, setting: str, reads: bool) -> None:
        self.scope = scope
        self.setting = setting
        self.reads = reads
        self._wait = threading.local()  # one instance serves every thread of the worker
        super().__init__(rate=getattr(settings, setting))

    def counts(self, request: HttpRequest) -> bool:
        return (request.method in READ_METHODS) == self.reads

    def get_cache_key(self, request: HttpRequest) -> str | None:
        identity = identity_of(request)
        if identity is None or not self.counts(request):
            return None
        # Hashed: user ids are the client's strings, cache keys must stay short and clean.
        user = hashlib.sha256(identity.user_id.encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{user}"

    def allow_request(self, request: HttpRequest) -> bool:
        self._wait.seconds = None
        key = self.get_cache_key(request)
        if key is None:
            return True
        limit, period = self.parse_rate(getattr(settings, self.setting))
        if limit is None or period is None:  # settings.py always sets a rate
            return True
        counter = rate_limit_counter()
        if not counter.available():  # fail open: an outage of the counter is no outage of the API
            return True
        now = self.timer()
        window = int(now // period)
        try:
            count = counter.count(f"{key}:{window}", period + 1)
        except CountUnavailable:  # failed just now (logged by the cache): fail open too
            return True
        if count <= limit:
            return True
        self._wait.seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        seconds: float | None = getattr(self._wait, "seconds", None)
        return seconds


def user_throttles() -> list[BaseThrottle]:
    """Reads and writes are limited separately, so a polling tab cannot block saving."""
    return [
        PerUserThrottle(scope="reads", setting="RATE_LIMIT_READS", reads=True),
        PerUserThrottle(scope="writes", setting="RATE_LIMIT_WRITES", reads=False),
    ]
