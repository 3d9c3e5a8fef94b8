"""Per-user rate limits for Ninja's throttling: one counter per user and window, in the cache.

Keyed on the token's user id, not ``str(request.auth)`` (Ninja's AuthRateThrottle), which holds
``iat``/``exp`` and so gives every token its own bucket. Counting is atomic in the shared cache,
so every worker and instance sees the same count; Ninja's read-modify-write history would lose
increments between concurrent workers. In Redis a count is one round trip
(``FailOpenRedisCache.count``); other caches use ``incr``, and ``add`` for a window's first
request. The limit is read from settings per request.
"""

import hashlib
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from ninja.throttling import BaseThrottle, SimpleRateThrottle

from authbridge import identity_of
from edge.cache import FailOpenRedisCache

READ_METHODS = frozenset({"GET", "HEAD"})


def count_in(cache: BaseCache, key: str, *, timeout: int) -> int | None:
    """One more on the counter ``key`` (kept ``timeout`` seconds); None if the cache is down."""
    if isinstance(cache, FailOpenRedisCache):
        return cache.count(key, timeout=timeout)
    try:
        return int(cache.incr(key))  # the window's counter exists but for its first request
    except ValueError:  # no counter yet (or the cache is unavailable, logged there)
        try:
            # A worker that loses the race to create the counter counts with incr.
            return 1 if cache.add(key, 1, timeout=timeout) else int(cache.incr(key))
        except ValueError:  # unavailable, or the key just expired
            return None


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
        now = self.timer()
        window = int(now // period)
        # caches[...], not django.core.cache.cache: that proxy is never a FailOpenRedisCache
        count = count_in(caches["default"], f"{key}:{window}", timeout=period + 1)
        if count is None or count <= limit:  # None: the cache is unavailable (logged there)
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
