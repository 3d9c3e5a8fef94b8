"""Key sources for asymmetric tokens: pinned JWKS, fetched JWKS (TTL, cooldown, stale-on-error)."""

import http.client
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jwt import PyJWK
from jwt.exceptions import PyJWTError

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.metrics import JWKS_FETCHES

logger = logging.getLogger(__name__)

# The key type (and curve) each accepted algorithm needs; anything else is a mismatch.
KEY_TYPE_FOR_ALG: dict[str, tuple[str, str | None]] = {
    "EdDSA": ("OKP", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    **{alg: ("RSA", None) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
}
FAILED_FETCH_BACKOFF_SECONDS = 5.0

Fetch = Callable[..., Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class JwksKey:
    kid: str | None
    declared_alg: str | None
    kty: str
    crv: str | None
    use: str | None
    jwk: PyJWK

    def fits(self, alg: str) -> bool:
        kty, crv = KEY_TYPE_FOR_ALG.get(alg, ("", None))
        return (
            self.kty == kty
            and (crv is None or self.crv == crv)
            and self.declared_alg in (None, alg)
            and self.use in (None, "sig")
        )


class KeySource(Protocol):
    def key_for(self, *, kid: str | None, alg: str) -> JwksKey: ...


class JwksError(ValueError):
    """The JWKS document is unusable (not a key set, or no key this service can use)."""


def parse_jwks(document: Any) -> tuple[JwksKey, ...]:
    """Parse a JWKS with PyJWT, skipping keys it cannot use (e.g. a future key type)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError('a JWKS is a JSON object with a "keys" list')
    keys = []
    for data in document["keys"]:
        if not isinstance(data, Mapping) or data.get("kty") not in ("OKP", "EC", "RSA"):
            continue
        try:
            jwk = PyJWK.from_dict(dict(data))
        except (PyJWTError, ValueError, TypeError):
            continue
        kid, alg, crv, use = (data.get(name) for name in ("kid", "alg", "crv", "use"))
        keys.append(JwksKey(kid, alg, str(data["kty"]), crv, use, jwk))
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


def fetch_json(url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
    """GET a JSON document with a timeout and a size cap; raises OSError or ValueError."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - operator-configured http(s) URL
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ValueError(f"the JWKS is larger than {max_bytes} bytes")
    document = json.loads(body)
    if not isinstance(document, Mapping):
        raise ValueError("the JWKS is not a JSON object")
    return document


class FetchedJwks:
    """The JWKS at a URL, cached per process.

    Refreshed when the TTL ends; re-fetched at once for an unknown kid, at most once per
    cooldown; one fetch at a time; while a fetch fails, the keys already cached keep working.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        ttl: float,
        cooldown: float,
        timeout: float,
        max_bytes: int,
        failure_backoff: float = FAILED_FETCH_BACKOFF_SECONDS,
    ) -> None:
        self.url = url
        self._fetch, self._clock = fetch, clock
        self._ttl, self._cooldown, self._backoff = ttl, cooldown, failure_backoff
        self._timeout, self._max_bytes = timeout, max_bytes
        self._keys: tuple[JwksKey, ...] = ()
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._unknown_kid_fetch_at: float | None = None
        self._generation = 0  # successful fetches so far
        self._lock = threading.Lock()

    def key_for(self, *, kid: str | None, alg: str) -> JwksKey:
        generation = self._generation
        keys = self._keys if self._is_fresh(self._clock()) else self._refresh(unknown_kid=False)
        key = pick_key(keys, kid=kid, alg=alg)
        if key is None and kid is not None and all(k.kid != kid for k in keys):
            # Keys fetched since this call began are the newest there are: no second fetch.
            fetched = self._generation != generation
            keys = self._keys if fetched else self._refresh(unknown_kid=True)
            key = pick_key(keys, kid=kid, alg=alg)
        if key is None:
            raise refuse_unknown_key(keys, kid=kid, alg=alg)
        return key

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self._ttl

    def _refresh(self, *, unknown_kid: bool) -> tuple[JwksKey, ...]:
        if self._keys:
            if not self._lock.acquire(blocking=False):
                return self._keys  # another thread is fetching; the cached keys serve meanwhile
        else:
            self._lock.acquire()  # cold start: wait for the fetch already under way
        try:
            return self._refresh_locked(unknown_kid=unknown_kid)
        finally:
            self._lock.release()

    def _refresh_locked(self, *, unknown_kid: bool) -> tuple[JwksKey, ...]:
        now = self._clock()
        if unknown_kid:
            # Cooldown applies to unknown kids only, so forged kids cannot flood the JWKS.
            last = self._unknown_kid_fetch_at
            if last is not None and now - last < self._cooldown:
                return self._keys
            self._unknown_kid_fetch_at = now
        elif self._is_fresh(now):
            return self._keys  # fetched by the thread we waited for
        if self._failed_at is not None and now - self._failed_at < self._backoff:
            return self._keys_or_unavailable(retry_after=self._backoff - (now - self._failed_at))
        try:
            document = self._fetch(self.url, timeout=self._timeout, max_bytes=self._max_bytes)
            keys = parse_jwks(document)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            self._failed_at = now
            JWKS_FETCHES.labels("error").inc()
            logger.warning("JWKS fetch from %s failed: %s", self.url, exc)
            return self._keys_or_unavailable(retry_after=self._backoff)
        self._keys, self._fetched_at, self._failed_at = keys, now, None
        self._generation += 1
        JWKS_FETCHES.labels("ok").inc()
        logger.info("JWKS fetched from %s: kids=%s", self.url, [key.kid for key in keys])
        return keys

    def _keys_or_unavailable(self, *, retry_after: float) -> tuple[JwksKey, ...]:
        if self._keys:
            return self._keys  # stale keys beat no keys while Better Auth is unreachable
        raise KeysUnavailable(
            "The token signing keys cannot be fetched right now; try again shortly.",
            reason="jwks_unavailable",
            retry_after_seconds=math.ceil(retry_after),
        )
