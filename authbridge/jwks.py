"""The JWKS cache policy: FetchedJwks (per-process keys: TTL, cooldown, stale-on-error) and
CachedJwksStore (the last good JWKS shared through a Django cache alias)."""

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from django.core.cache import caches

from authbridge.errors import KeysUnavailable
from authbridge.fetch import fetch_json
from authbridge.keys import JwksKey, parse_jwks, pick_key, refuse_unknown_key
from authbridge.metrics import JWKS_FETCHES

logger = logging.getLogger(__name__)

FAILED_FETCH_BACKOFF_SECONDS = 5.0
STORE_POLL_SECONDS = 0.05  # how often a cold process looks for the keys another one fetches

Fetch = Callable[..., Mapping[str, Any]]


class JwksStore(Protocol):
    """Where the last good JWKS outlives the process (CachedJwksStore below)."""

    def load(self) -> tuple[Mapping[str, Any], float] | None: ...  # (document, age in seconds)

    def save(self, document: Mapping[str, Any]) -> None: ...

    def claim(self, seconds: float) -> bool: ...  # True: no other process is fetching right now


def unavailable(reason: str, *, retry_after: float) -> KeysUnavailable:
    return KeysUnavailable(
        "The token signing keys cannot be fetched right now; try again shortly.",
        reason=reason,
        retry_after_seconds=math.ceil(retry_after),
    )


class FetchedJwks:
    """The JWKS at a URL, cached per process (and in ``store``, so a new process starts warm).

    Refreshed when the TTL ends; re-fetched at once for an unknown kid, at most once per
    cooldown; one fetch at a time; while a fetch fails, the keys already cached keep working.
    An unknown kid that cannot be looked up right now is KeysUnavailable (503), not a 401.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        store: JwksStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ttl: float,
        cooldown: float,
        timeout: float,
        max_bytes: int,
        failure_backoff: float = FAILED_FETCH_BACKOFF_SECONDS,
    ) -> None:
        self.url = url
        self._fetch, self._clock, self._store, self._sleep = fetch, clock, store, sleep
        self._ttl, self._cooldown, self._backoff = ttl, cooldown, failure_backoff
        self._timeout, self._max_bytes = timeout, max_bytes
        self._keys: tuple[JwksKey, ...] = ()
        self._fetched_at: float | None = None
        self._failed_at: float | None = None  # when the last failed fetch ended
        self._unknown_kid_fetch_at: float | None = None
        self._generation = 0  # successful fetches so far
        self._lock = threading.Lock()

    def key_for(self, *, kid: str | None, alg: str) -> JwksKey:
        generation = self._generation
        keys = self._keys if self._is_fresh(self._clock()) else self._refresh()
        key = pick_key(keys, kid=kid, alg=alg)
        if key is None and kid is not None and all(k.kid != kid for k in keys):
            # Keys fetched since this call began are the newest there are: no second fetch.
            fetched = self._generation != generation
            keys = self._keys if fetched else self._refetch_for_unknown_kid(generation)
            key = pick_key(keys, kid=kid, alg=alg)
        if key is None:
            raise refuse_unknown_key(keys, kid=kid, alg=alg)
        return key

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._ttl

    def _refresh(self) -> tuple[JwksKey, ...]:
        if self._keys:
            if not self._lock.acquire(blocking=False):
                return self._keys  # another thread is fetching; the cached keys serve meanwhile
        else:
            self._lock.acquire()  # cold start: wait for the fetch already under way
        try:
            now = self._clock()
            if self._is_fresh(now):
                return self._keys  # fetched by the thread we waited for
            if self._load_from_store(now) and self._is_fresh(now):
                return self._keys  # another process fetched them lately (a new worker too)
            # Another process is fetching: one fetch for every process that shares the store.
            if (
                self._backoff_left() == 0
                and not self._claim_fetch()
                and (self._keys or self._wait_for_store())
            ):
                return self._keys
            if not self._fetch_now(now) and not self._keys:
                raise unavailable("jwks_unavailable", retry_after=self._backoff_left())
            return self._keys  # stale keys beat no keys while Better Auth is unreachable
        finally:
            self._lock.release()

    def _refetch_for_unknown_kid(self, generation: int) -> tuple[JwksKey, ...]:
        """A fetch for a kid not in the keys, or KeysUnavailable when none is allowed now."""
        if not self._lock.acquire(blocking=False):
            raise unavailable("kid_fetch_in_flight", retry_after=1)
        try:
            if self._generation != generation:
                return self._keys  # a fetch ended between our look and the lock
            now = self._clock()
            # Cooldown applies to unknown kids only, so forged kids cannot flood the JWKS.
            last = self._unknown_kid_fetch_at
            if last is not None and now - last < self._cooldown:
                raise unavailable("kid_cooldown", retry_after=self._cooldown - (now - last))
            if self._backoff_left() > 0:
                raise unavailable("jwks_unavailable", retry_after=self._backoff_left())
            self._unknown_kid_fetch_at = now
            if not self._fetch_now(now):
                raise unavailable("jwks_unavailable", retry_after=self._backoff_left())
            return self._keys
        finally:
            self._lock.release()

    def _backoff_left(self) -> float:
        if self._failed_at is None:
            return 0.0
        return max(0.0, self._backoff - (self._clock() - self._failed_at))

    def _fetch_now(self, now: float) -> bool:
        """Fetch and parse under the lock; False (logged) on any failure, within the backoff too."""
        if self._backoff_left() > 0:
            return False
        try:
            document = self._fetch(self.url, timeout=self._timeout, max_bytes=self._max_bytes)
            keys = parse_jwks(document)
        except Exception as exc:  # any failure to fetch or parse (even RecursionError) is one
            self._failed_at = self._clock()  # backoff counts from the end of the failed fetch
            JWKS_FETCHES.labels("error").inc()
            logger.warning("JWKS fetch from %s failed: %r", self.url, exc)
            return False
        self._keys, self._fetched_at, self._failed_at = keys, now, None
        self._generation += 1
        JWKS_FETCHES.labels("ok").inc()
        logger.info("JWKS fetched from %s: kids=%s", self.url, [key.kid for key in keys])
        self._save_to_store(keys)
        return True

    def _load_from_store(self, now: float) -> bool:
        stored = self._store.load() if self._store is not None else None
        if stored is None:
            return False
        document, age = stored
        stored_at = now - max(0.0, age)
        if self._fetched_at is not None and stored_at <= self._fetched_at:
            return False  # not newer than the keys this process has
        try:
            keys = parse_jwks(document)
        except Exception as exc:  # a bad cache entry is no cache entry
            logger.warning("JWKS cached for %s is unusable: %.200s", self.url, exc)
            return False
        self._keys, self._fetched_at = keys, now - max(0.0, age)
        logger.info("JWKS for %s taken from the cache, %.0f s old", self.url, age)
        return True

    def _claim_fetch(self) -> bool:
        return self._store is None or self._store.claim(self._timeout)

    def _wait_for_store(self) -> bool:
        """A cold process waits (at most the fetch timeout) for the fetch another one claimed."""
        for _ in range(math.ceil(self._timeout / STORE_POLL_SECONDS)):
            self._sleep(STORE_POLL_SECONDS)
            if self._load_from_store(self._clock()) and self._is_fresh(self._clock()):
                return True
        return False

    def _save_to_store(self, keys: Sequence[JwksKey]) -> None:
        if self._store is not None:
            self._store.save({"keys": [dict(key.public) for key in keys]})


class CachedJwksStore:
    """The last good JWKS (public keys) and its fetch time in a Django cache alias.

    Shared by the processes (and, with Redis, the hosts) that use the alias, so a recycled
    worker starts warm. The cache is a help, never a dependency: any error is "no entry".
    """

    def __init__(self, alias: str, url: str) -> None:
        self.alias = alias
        self.key = "authbridge:jwks:" + hashlib.sha256(url.encode()).hexdigest()

    def load(self) -> tuple[Mapping[str, Any], float] | None:
        try:
            entry = caches[self.alias].get(self.key)
        except Exception as exc:  # Redis down, unknown alias...: go on without the cache
            logger.warning("JWKS cache %r unreadable: %r", self.alias, exc)
            return None
        if not isinstance(entry, Mapping):
            return None
        document, fetched_at = entry.get("document"), entry.get("fetched_at")
        if not isinstance(document, Mapping) or not isinstance(fetched_at, int | float):
            return None
        return document, time.time() - fetched_at

    def save(self, document: Mapping[str, Any]) -> None:
        entry = {"document": dict(document), "fetched_at": time.time()}
        try:
            caches[self.alias].set(self.key, entry, timeout=None)
            caches[self.alias].delete(f"{self.key}:fetching")  # the claimed fetch is done
        except Exception as exc:  # the keys still serve this process
            logger.warning("JWKS cache %r unwritable: %r", self.alias, exc)

    def claim(self, seconds: float) -> bool:
        """True unless another process claimed a fetch in the last ``seconds`` (cache.add)."""
        try:
            cache = caches[self.alias]
            claimed = cache.add(f"{self.key}:fetching", 1, math.ceil(seconds))
        except Exception as exc:  # no cache, no coordination: fetch
            logger.warning("JWKS cache %r unwritable: %r", self.alias, exc)
            return True
        # A fail-open cache (todo_project.cache) answers False while Redis is down: fetch then.
        return bool(claimed) or not getattr(cache, "is_available", True)
