"""The JWKS cache policy: FetchedJwks (per-process keys: TTL, cooldown, stale-on-error), which
starts warm from a JwksStore (authbridge.jwksstore: the last good JWKS shared through a Django
cache alias)."""

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.fetch import fetch_json
from authbridge.jwksstore import CachedJwksStore, JwksStore
from authbridge.keys import JwksKey, parse_jwks, pick_key, refuse_unknown_key
from authbridge.metrics import JWKS_FETCHES

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_STALENESS_SECONDS", "CachedJwksStore", "FetchedJwks", "JwksStore"]

FAILED_FETCH_BACKOFF_SECONDS = 5.0
STORE_POLL_SECONDS = 0.05  # how often a cold process looks for the keys another one fetches
IO_MARGIN_SECONDS = 1.0
DEFAULT_MAX_STALENESS_SECONDS = 300.0  # BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS
MAX_DROPPED_KIDS = 256  # revoked kids remembered per process; older ones fall back to iat

Fetch = Callable[..., Mapping[str, Any]]


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

    A kid the keys lack is InvalidToken (401) only when that is certain: a document may be up to
    ``max_staleness`` seconds old when it arrives (a CDN, a proxy, a lagging replica, clock
    skew), so one fetched at wall time T shows every key that existed at T - max_staleness. A
    kid is certainly not Better Auth's when it existed before that, by the token's own ``iat``
    (a forged iat only forges a 401) or because an earlier document held it (revoked). Until
    then the token may be signed by a key no document has shown yet: KeysUnavailable (503).
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
        max_staleness: float = DEFAULT_MAX_STALENESS_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._fetch, self._clock, self._store, self._sleep = fetch, clock, store, sleep
        self._ttl, self._cooldown, self._backoff = ttl, cooldown, failure_backoff
        self._timeout, self._max_bytes = timeout, max_bytes
        self._max_staleness, self._wall_clock = max_staleness, wall_clock
        self._keys: tuple[JwksKey, ...] = ()
        self._fetched_at: float | None = None
        # Wall-clock time the keys were fetched (iat is wall-clock time); written after _keys.
        self._fetched_wall: float | None = None
        self._first_seen: dict[str, float] = {}  # kid of the keys -> when a fetch first showed it
        self._dropped: OrderedDict[str, float] = OrderedDict()  # kids a later fetch lacked
        self._failed_at: float | None = None  # when the last failed fetch ended
        self._unknown_kid_fetch_at: float | None = None
        self._generation = 0  # successful fetches so far
        self._lock = threading.Lock()

    def key_for(self, *, kid: str | None, alg: str, issued_at: float | None = None) -> JwksKey:
        generation = self._generation
        keys = self._keys if self._is_fresh(self._clock()) else self._refresh()
        key = pick_key(keys, kid=kid, alg=alg)
        if key is None and kid is not None and all(k.kid != kid for k in keys):
            return self._key_for_unknown_kid(kid, alg, issued_at, generation)
        if key is None:
            raise refuse_unknown_key(keys, kid=kid, alg=alg)
        return key

    def needs_io(self, kid: str | None) -> bool:
        """Whether key_for(kid) may fetch or read the store now: the keys are stale, or will
        be within a second (so the answer holds while the caller acts on it), or lack ``kid``."""
        fetched_at = self._fetched_at
        if fetched_at is None or self._clock() - fetched_at >= self._ttl - IO_MARGIN_SECONDS:
            return True
        return kid is not None and all(key.kid != kid for key in self._keys)

    def _key_for_unknown_kid(
        self, kid: str, alg: str, issued_at: float | None, generation: int
    ) -> JwksKey:
        """401 when the keys prove the kid is not Better Auth's, else one fetch (per cooldown),
        else 503: this token may be signed by a key no document has shown yet."""
        refusal = self._refusal_for_absent(kid, issued_at)
        if refusal is not None:
            raise refusal
        # Keys fetched since this call began are the newest there are: no second fetch.
        if self._generation == generation:
            self._refetch_for_unknown_kid(generation)
        keys = self._keys
        key = pick_key(keys, kid=kid, alg=alg)
        if key is not None:
            return key
        if any(k.kid == kid for k in keys):
            raise refuse_unknown_key(keys, kid=kid, alg=alg)  # published, but not for this alg
        raise self._refusal_for_absent(kid, issued_at) or unavailable(
            "kid_not_published", retry_after=max(1.0, self._cooldown_left())
        )

    def _refusal_for_absent(self, kid: str, issued_at: float | None) -> InvalidToken | None:
        """InvalidToken when the current keys lack ``kid`` for certain, None while they may not."""
        fetched_wall = self._fetched_wall  # read before _keys, which is written before it
        if fetched_wall is None or any(k.kid == kid for k in self._keys):
            return None
        shows_all_before = fetched_wall - self._max_staleness
        first_seen = self._dropped.get(kid)
        if first_seen is not None and first_seen < shows_all_before:
            return InvalidToken(
                "The token was signed with a key that Better Auth no longer publishes.",
                reason="revoked_kid",
            )
        if issued_at is None or issued_at < shows_all_before:
            return InvalidToken("The token was signed with an unknown key.", reason="unknown_kid")
        return None

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

    def _refetch_for_unknown_kid(self, generation: int) -> None:
        """A fetch for a kid not in the keys, or KeysUnavailable when none is allowed now."""
        if not self._lock.acquire(blocking=False):
            raise unavailable("kid_fetch_in_flight", retry_after=1)
        try:
            if self._generation != generation:
                return  # a fetch ended between our look and the lock
            now = self._clock()
            # Cooldown applies to unknown kids only, so forged kids cannot flood the JWKS.
            if self._cooldown_left() > 0:
                raise unavailable("kid_cooldown", retry_after=self._cooldown_left())
            if self._backoff_left() > 0:
                raise unavailable("jwks_unavailable", retry_after=self._backoff_left())
            self._unknown_kid_fetch_at = now
            if not self._fetch_now(now):
                raise unavailable("jwks_unavailable", retry_after=self._backoff_left())
        finally:
            self._lock.release()

    def _cooldown_left(self) -> float:
        last = self._unknown_kid_fetch_at
        return 0.0 if last is None else max(0.0, self._cooldown - (self._clock() - last))

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
        self._take(keys, fetched_at=now, fetched_wall=self._wall_clock())
        self._failed_at = None
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
        self._take(keys, fetched_at=stored_at, fetched_wall=self._wall_clock() - max(0.0, age))
        logger.info("JWKS for %s taken from the cache, %.0f s old", self.url, age)
        return True

    def _take(self, keys: tuple[JwksKey, ...], *, fetched_at: float, fetched_wall: float) -> None:
        """Make ``keys`` current (under the lock), remembering which kids it dropped, and since
        when each kid was known (a kid that comes back keeps its first sighting)."""
        kids = {key.kid for key in keys if key.kid is not None}
        for kid in self._first_seen.keys() - kids:
            self._dropped[kid] = self._first_seen.pop(kid)
        for kid in kids:
            self._first_seen.setdefault(kid, self._dropped.pop(kid, fetched_wall))
        while len(self._dropped) > MAX_DROPPED_KIDS:
            self._dropped.popitem(last=False)
        self._keys, self._fetched_at = keys, fetched_at
        self._fetched_wall = fetched_wall

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
