"""Key sources for asymmetric tokens: pinned JWKS, fetched JWKS (TTL, cooldown, stale-on-error)."""

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.fetch import fetch_json
from authbridge.metrics import JWKS_FETCHES

logger = logging.getLogger(__name__)

# The key type (and curve) each accepted algorithm needs; anything else is a mismatch.
KEY_TYPE_FOR_ALG: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", None),
    "Ed25519": ("OKP", "Ed25519"),  # RFC 9864's fully specified name for EdDSA over Ed25519
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    **{alg: ("RSA", None) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
}
ED25519_NAMES = frozenset({"EdDSA", "Ed25519"})
FAILED_FETCH_BACKOFF_SECONDS = 5.0
STORE_POLL_SECONDS = 0.05  # how often a cold process looks for the keys another one fetches
MAX_JWKS_KEYS = 32  # keys taken from one document; later ones are ignored
MIN_RSA_BITS = 2048
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})

Fetch = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class JwksKey:
    kid: str | None
    declared_alg: str | None
    kty: str
    crv: str | None
    use: str | None
    jwk: PyJWK
    public: Mapping[str, Any]  # the JWK without private members, as stored in the cache

    def fits(self, alg: str) -> bool:
        kty, crv = KEY_TYPE_FOR_ALG.get(alg, ("", None))
        # Either name of Ed25519 fits a key declared with the other, but only an Ed25519 key.
        same_alg = self.declared_alg in (None, alg) or (
            {self.declared_alg, alg} <= ED25519_NAMES and self.crv == "Ed25519"
        )
        return (
            self.kty == kty
            and (crv is None or self.crv == crv)
            and same_alg
            and self.use in (None, "sig")
        )


class KeySource(Protocol):
    def key_for(self, *, kid: str | None, alg: str) -> JwksKey: ...


class JwksStore(Protocol):
    """Where the last good JWKS outlives the process (see authbridge.config.CachedJwksStore)."""

    def load(self) -> tuple[Mapping[str, Any], float] | None: ...  # (document, age in seconds)

    def save(self, document: Mapping[str, Any]) -> None: ...

    def claim(self, seconds: float) -> bool: ...  # True: no other process is fetching right now


class JwksError(ValueError):
    """The JWKS document is unusable (not a key set, or no key this service can use)."""


def parse_key(data: Any) -> JwksKey | None:
    """One JWK, or None when this service cannot or must not use it for verifying."""
    if not isinstance(data, Mapping) or data.get("kty") not in ("OKP", "EC", "RSA"):
        return None
    kid, alg, crv, use, ops = (data.get(n) for n in ("kid", "alg", "crv", "use", "key_ops"))
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None  # key_ops present: it must allow verify
    if alg == "Ed25519" and crv != "Ed25519":
        return None
    try:
        # PyJWT knows Ed25519 keys by the old name only; the key material is the same.
        jwk = PyJWK(dict(data), algorithm="EdDSA" if alg == "Ed25519" else None)
    except (PyJWTError, ValueError, TypeError):
        return None
    rsa_key = isinstance(jwk.key, rsa.RSAPublicKey | rsa.RSAPrivateKey)
    if rsa_key and jwk.key.key_size < MIN_RSA_BITS:
        return None
    public = {name: value for name, value in data.items() if name not in PRIVATE_MEMBERS}
    return JwksKey(kid, alg, str(data["kty"]), crv, use, jwk, public)


def parse_jwks(document: Any) -> tuple[JwksKey, ...]:
    """Parse a JWKS with PyJWT, skipping keys it cannot use (e.g. a future key type)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError('a JWKS is a JSON object with a "keys" list')
    keys = [key for key in map(parse_key, document["keys"][:MAX_JWKS_KEYS]) if key is not None]
    if not keys:
        raise JwksError("the JWKS holds no usable public key")
    return tuple(keys)


def pick_key(keys: Sequence[JwksKey], *, kid: str | None, alg: str) -> JwksKey | None:
    """The key named by kid that fits alg; without a kid, the only key that fits."""
    if kid is None:
        fitting = [key for key in keys if key.fits(alg)]
        return fitting[0] if len(fitting) == 1 else None
    return next((key for key in keys if key.kid == kid and key.fits(alg)), None)


def refuse_unknown_key(keys: Sequence[JwksKey], *, kid: str | None, alg: str) -> InvalidToken:
    if kid is not None and any(key.kid == kid for key in keys):
        return InvalidToken(f"The key {kid!r} does not fit alg {alg}.", reason="key_mismatch")
    if kid is None:
        return InvalidToken("The token names no key (kid) and none fits.", reason="no_kid")
    return InvalidToken("The token was signed with an unknown key.", reason="unknown_kid")


class PinnedJwks:
    """Keys given in BETTER_AUTH_JWKS: no HTTP, ever."""

    def __init__(self, keys: Sequence[JwksKey]) -> None:
        self._keys = tuple(keys)

    def key_for(self, *, kid: str | None, alg: str) -> JwksKey:
        key = pick_key(self._keys, kid=kid, alg=alg)
        if key is None:
            raise refuse_unknown_key(self._keys, kid=kid, alg=alg)
        return key


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
