"""Django's RedisCache, failing open: while Redis is down the API goes on without a cache.

Django's backend lets ``redis.exceptions.RedisError`` escape from every call, so one Redis outage
would turn every request into a 500. Here a failed call is logged once, answered like a cache
miss, and Redis is left alone for ``RETRY_SECONDS`` so requests do not each wait for a timeout.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT as DEFAULT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 5.0


class CacheUnavailable(ValueError):
    """``incr`` could not count; a ValueError, like Django's answer for a missing key."""


class FailOpenRedisCache(RedisCache):
    """Every call answers as a miss (``get`` -> default, ``add`` -> False) while Redis fails."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.clock: Callable[[], float] = time.monotonic
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_available(self) -> bool:
        return self.clock() >= self._down_until

    def _call(self, fallback: T, call: Callable[..., T], *args: Any) -> T:
        if not self.is_available:
            return fallback
        try:
            return call(*args)
        except RedisError as exc:
            with self._lock:
                was_up = self.is_available
                self._down_until = self.clock() + RETRY_SECONDS
            if was_up:
                logger.warning(
                    "cache unavailable, going on without it for %.0fs: %s failed: %s",
                    RETRY_SECONDS, call.__name__, exc,
                )  # fmt: skip
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT, version: Any = None) -> bool:
        return self._call(False, super().add, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call(default, super().get, key, default, version)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT, version: Any = None) -> None:
        self._call(None, super().set, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT, version: Any = None) -> bool:
        return self._call(False, super().touch, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> bool:
        return self._call(False, super().delete, key, version)

    def get_many(self, keys: Any, version: Any = None) -> dict[Any, Any]:
        return self._call({}, super().get_many, keys, version)

    def has_key(self, key: Any, version: Any = None) -> bool:
        return self._call(False, super().has_key, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        counted: int | None = self._call(None, super().incr, key, delta, version)
        if counted is None:
            raise CacheUnavailable("the cache is unavailable")
        return counted

    def set_many(self, data: Any, timeout: Any = DEFAULT, version: Any = None) -> list[Any]:
        return self._call(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._call(None, super().delete_many, keys, version)

    def clear(self) -> None:
        self._call(None, super().clear)
