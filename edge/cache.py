"""Django's RedisCache, failing open: while Redis is down the API goes on without a cache.

Django's backend lets ``redis.exceptions.RedisError`` escape from every call, so one Redis outage
would turn every request into a 500. Here a failed call is logged once, answered like a cache
miss, and Redis is left alone for ``RETRY_SECONDS`` so requests do not each wait for a timeout.

Values are JSON (``JsonSerializer``, the default here), never pickles: Django's serializer
unpickles what it reads, so anyone who could write to Redis could run code in the app.
"""

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT as DEFAULT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 5.0
_MISS = object()
# One more on KEYS[1]; a new counter lives ARGV[1] seconds. A script runs atomically in Redis, so
# no counter is ever left without its expiry, and it is one command: one round trip, one reply.
COUNT_SCRIPT = """
local counted = redis.call('INCR', KEYS[1])
if counted == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return counted
"""


class CacheUnavailable(ValueError):
    """``incr`` could not count; a ValueError, like Django's answer for a missing key."""


class UnreadableValue(ValueError):
    """A stored value that ``JsonSerializer`` did not write (a planted pickle, say)."""


class JsonSerializer:
    """``OPTIONS["serializer"]`` for Django's Redis backend: never unpickles.

    Integers are stored raw, as Django stores them, so Redis's INCR counts them; anything else
    is JSON. What is neither raises UnreadableValue, which ``OneClientPerPool`` reads as a miss.
    A value JSON cannot hold (a datetime, a model instance) is a TypeError on ``set``.
    """

    def dumps(self, obj: Any) -> bytes | int:
        if type(obj) is int:  # not bool, not an int subclass: those are JSON
            return obj
        return json.dumps(obj, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        try:
            return int(data)
        except ValueError:
            pass
        try:
            return json.loads(data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
            raise UnreadableValue("not an integer or JSON") from None


class OneClientPerPool(RedisCacheClient):
    """Django's Redis client, reusing one ``redis.Redis`` per connection pool; JSON values by
    default (``JsonSerializer``); a value the serializer cannot read (UnreadableValue) is a miss.

    Django builds a new ``redis.Redis`` for every cache call (``get_client`` is its documented
    place for a custom client). Building one copies redis-py's table of ~170 response callbacks:
    about 0.25 ms of CPU on the benchmark machine, more than the round trip it precedes
    (docs/PERFORMANCE.md). redis-py clients are thread-safe: the pool lends each command its own
    connection.
    """

    def __init__(self, servers: Any, serializer: Any = None, **options: Any) -> None:
        # Resolved here as Django resolves it (a dotted path, a class or an instance), so the
        # instance is ours to call; without OPTIONS["serializer"] it is JSON, not Django's pickle.
        if isinstance(serializer, str):
            serializer = import_string(serializer)
        serializer = serializer or JsonSerializer
        self.serializer = serializer() if callable(serializer) else serializer
        super().__init__(servers, serializer=self.serializer, **options)
        self._clients: dict[Any, redis.Redis] = {}  # connection pool -> its one client
        self._counting = threading.local()  # pid, script: see counting_script()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's private pool lookup (primary for writes, a replica for reads); a rename in a
        # Django upgrade fails tests/ops/test_cache.py against a real redis-server.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients.setdefault(pool, redis.Redis(connection_pool=pool))
        return client

    def counting_script(self) -> Any:
        """``COUNT_SCRIPT`` on this thread's own connection to the primary (a redis-py
        ``Script``: EVALSHA, loading the script again after a Redis restart).

        A pooled client checks a connection out and back in for every command, with a fork
        check and a ``select()`` for unread data each time: about a third of a count's CPU
        (docs/PERFORMANCE.md). redis-py's ``single_connection_client`` holds one connection
        instead (it reconnects by itself after an error); one per thread, so threads never
        wait for each other. Rebuilt in a forked child, which must not write on its parent's
        socket.
        """
        local = self._counting
        if getattr(local, "pid", None) != os.getpid():
            # Django's private pool lookup, as in get_client(): the primary's pool.
            pool = self._get_connection_pool(True)  # type: ignore[attr-defined]
            client = redis.Redis(connection_pool=pool, single_connection_client=True)
            local.script, local.pid = client.register_script(COUNT_SCRIPT), os.getpid()
        return local.script

    def get(self, key: Any, default: Any) -> Any:
        raw = self.get_client(key).get(key)
        return default if raw is None else self._loads(key, raw, default)

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        found = zip(keys, self.get_client(None).mget(keys), strict=True)
        values = {key: self._loads(key, raw, _MISS) for key, raw in found if raw is not None}
        return {key: value for key, value in values.items() if value is not _MISS}

    def _loads(self, key: Any, raw: Any, default: Any) -> Any:
        try:
            return self.serializer.loads(raw)
        except UnreadableValue:
            logger.warning("cache key %s holds neither an integer nor JSON: read as a miss", key)
            return default


class FailOpenRedisCache(RedisCache):
    """Every call answers as a miss (``get`` -> default, ``add`` -> False) while Redis fails."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # RedisCache's private client class (no public hook): tests/ops/test_cache.py checks it.
        self._class = OneClientPerPool
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

    def count(self, key: Any, *, timeout: int, version: Any = None) -> int | None:
        """One more on the counter ``key``, which lives ``timeout`` seconds from its first count;
        ``None`` while Redis fails. One command (``COUNT_SCRIPT``: INCR, and EXPIRE when the
        counter is new), where Django's ``add`` + ``incr`` take two or three round trips
        (``incr`` alone is EXISTS + INCRBY). The value stays a plain integer, as Django stores
        ints: ``get`` reads it back.
        """
        # make_key, not make_and_validate_key: the callers' keys are their own short hex names,
        # and the validation (a memcached character scan) cost a fifth of a count.
        redis_key = self.make_key(key, version=version)
        # RedisCache._cache (private, no public accessor): the OneClientPerPool built from
        # _class; tests/ops/test_cache.py checks both against a real redis-server.
        client: OneClientPerPool = self._cache  # type: ignore[attr-defined]

        def incr_and_expire() -> int:
            return int(client.counting_script()(keys=[redis_key], args=[timeout]))

        return self._call(None, incr_and_expire)

    def set_many(self, data: Any, timeout: Any = DEFAULT, version: Any = None) -> list[Any]:
        return self._call(list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._call(None, super().delete_many, keys, version)

    def clear(self) -> None:
        self._call(None, super().clear)
