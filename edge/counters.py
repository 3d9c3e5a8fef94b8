"""How rate limits count: a small protocol (count a key within a window; is the backend up?).

Two implementations, chosen once by ``settings.RATE_LIMIT_COUNTER`` (settings.py picks the first
when REDIS_URL is set, the second otherwise):

- ``RedisCounter``: one command per count in Redis (``FailOpenRedisCache.count``: a script
  that increments and, for a new counter, sets its expiry), so every worker and instance shares
  the count; while Redis is down it says so and counts nothing.
- ``CacheCounter``: any Django cache, with ``incr`` and ``add`` for a window's first request.

Both count atomically in the backend: a read-modify-write (Ninja's throttle history) would lose
increments between concurrent workers.
"""

from functools import cache
from typing import Protocol, cast

from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error
from django.utils.module_loading import import_string

from edge.cache import FailOpenRedisCache


class CountUnavailable(Exception):
    """The backend could not count (down, or the key expired mid-count): limits fail open."""


class Counter(Protocol):
    def count(self, key: str, window: int) -> int:
        """One more on ``key``, which lives ``window`` seconds; raises CountUnavailable."""
        ...

    def available(self) -> bool:
        """False while the backend is known to be down, so callers need not ask it."""
        ...


class CacheCounter:
    """Counts with Django's cache API, in the cache named ``alias``."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias

    def available(self) -> bool:
        return True  # the cache API has no such notion: a failure raises in count()

    def count(self, key: str, window: int) -> int:
        backend = caches[self.alias]
        try:
            return int(backend.incr(key))  # the window's counter exists but for its first request
        except ValueError:  # no counter yet (or a fail-open cache is unavailable)
            try:
                # A worker that loses the race to create the counter counts with incr.
                return 1 if backend.add(key, 1, timeout=window) else int(backend.incr(key))
            except ValueError:  # unavailable, or the key just expired
                raise CountUnavailable(key) from None


class RedisCounter:
    """Counts in a ``FailOpenRedisCache`` (``alias``): INCR, and EXPIRE for a new counter, as one
    script run on the calling thread's own connection."""

    requires = FailOpenRedisCache

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias

    def backend(self) -> FailOpenRedisCache:
        # caches[...] is per thread, so it is looked up per call; check_counter() has made sure
        # at start that this alias is a FailOpenRedisCache.
        return cast(FailOpenRedisCache, caches[self.alias])

    def available(self) -> bool:
        return self.backend().is_available

    def count(self, key: str, window: int) -> int:
        counted = self.backend().count(key, timeout=window)
        if counted is None:  # Redis failed just now (logged by the cache)
            raise CountUnavailable(key)
        return counted


@cache
def counter_named(path: str) -> Counter:
    """The counter ``path`` names (one instance per process); a dotted path to a class."""
    counter: Counter = import_string(path)()
    return counter


def rate_limit_counter() -> Counter:
    return counter_named(settings.RATE_LIMIT_COUNTER)


def check_counter(**kwargs: object) -> list[CheckMessage]:
    """System check: RATE_LIMIT_COUNTER names a class, fit for the default cache's backend."""
    try:
        counter_class = import_string(settings.RATE_LIMIT_COUNTER)
    except ImportError as exc:
        return [Error(f"RATE_LIMIT_COUNTER cannot be imported: {exc}", id="edge.E001")]
    required = getattr(counter_class, "requires", None)
    backend = import_string(str(settings.CACHES["default"]["BACKEND"]))
    if required is not None and not issubclass(backend, required):
        return [
            Error(
                f"RATE_LIMIT_COUNTER {settings.RATE_LIMIT_COUNTER} needs a "
                f"{required.__name__} as the default cache, not {backend.__name__}.",
                hint="Set REDIS_URL, or name edge.counters.CacheCounter.",
                id="edge.E002",
            )
        ]
    return []
