"""Where the last good JWKS outlives the process: JwksStore (what FetchedJwks needs) and
CachedJwksStore (a signed entry in a Django cache alias, shared by every worker using it)."""

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Protocol

from django.core import signing
from django.core.cache import caches

# The name these log lines had when this lived in authbridge.jwks: filters keep working.
logger = logging.getLogger("authbridge.jwks")


class JwksStore(Protocol):
    """Where the last good JWKS outlives the process (CachedJwksStore below)."""

    def load(self) -> tuple[Mapping[str, Any], float] | None: ...  # (document, age in seconds)

    def save(self, document: Mapping[str, Any]) -> None: ...

    def claim(self, seconds: float) -> bool: ...  # True: no other process is fetching right now


class CachedJwksStore:
    """The last good JWKS (public keys) and its fetch time in a Django cache alias.

    Shared by the processes (and, with Redis, the hosts) that use the alias, so a recycled
    worker starts warm. The cache is a help, never a dependency: any error is "no entry".
    The entry is a trust anchor, so it is signed (django.core.signing: SECRET_KEY, or a key in
    SECRET_KEY_FALLBACKS) over the URL, the fetch time and the document: whoever can write to
    the cache can neither plant keys nor re-date an old entry. One that does not verify is no
    entry, logged once.
    """

    # This signature vouches for nothing else. The salt names the class where it first lived:
    # another salt would make every entry already stored unverifiable.
    salt = "authbridge.jwks.CachedJwksStore"

    def __init__(self, alias: str, url: str) -> None:
        self.alias, self.url = alias, url
        self.key = "authbridge:jwks:" + hashlib.sha256(url.encode()).hexdigest()
        self._refused = ""  # digest of the last entry refused: a cold worker polls the cache

    def load(self) -> tuple[Mapping[str, Any], float] | None:
        try:
            entry = caches[self.alias].get(self.key)
        except Exception as exc:  # Redis down, unknown alias...: go on without the cache
            logger.warning("JWKS cache %r unreadable: %r", self.alias, exc)
            return None
        if entry is None:
            return None
        opened = self._open(entry)
        if isinstance(opened, str):
            digest = hashlib.sha256(repr(entry).encode()).hexdigest()
            if digest != self._refused:
                self._refused = digest
                logger.warning("JWKS cached for %s ignored: %s", self.url, opened)
            return None
        document, fetched_at = opened
        return document, time.time() - fetched_at

    def _open(self, entry: object) -> tuple[Mapping[str, Any], float] | str:
        """The signed entry's document and fetch time, or why it is not to be trusted."""
        if not isinstance(entry, str):
            return "it is not a signed entry"
        try:
            payload = signing.Signer(salt=self.salt).unsign_object(entry)
        except signing.BadSignature:
            return "its signature does not verify"
        if not isinstance(payload, dict):
            return "it is malformed"
        if payload.get("url") != self.url:
            return "it is signed for another URL"
        document, fetched_at = payload.get("document"), payload.get("fetched_at")
        if not isinstance(document, Mapping) or not isinstance(fetched_at, int | float):
            return "it is malformed"
        return document, fetched_at

    def save(self, document: Mapping[str, Any]) -> None:
        payload = {"url": self.url, "fetched_at": time.time(), "document": dict(document)}
        try:
            entry = signing.Signer(salt=self.salt).sign_object(payload)
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
        # A fail-open cache (edge.cache) answers False while Redis is down: fetch then.
        return bool(claimed) or not getattr(cache, "is_available", True)
