"""VerifiedTokens: tokens this process verified lately, so a repeated token skips the signature.

An entry is keyed by the SHA-256 of the exact token string and holds what verifying it gave
(the Identity) and the key that verified it. It is good until the token's ``exp`` (without the
leeway: after ``exp`` the full verifier decides again) and for at most ``max_age`` seconds after
it was stored. Only successful verifications are stored; a refusal is never remembered. The
Verifier uses an entry only while the key it names is still the one the key source gives for
that token, so a key removed from the JWKS stops working exactly as without the cache.
Bounded (least recently used goes first) and safe to share between threads.
"""

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authbridge.identity import Identity

DEFAULT_MAX_ENTRIES = 4096  # a few MB per process at most: an Identity holds its claims


@dataclass(frozen=True, slots=True)
class Entry:
    identity: Identity
    alg: str
    kid: str | None
    key: Any  # the JwksKey that verified an asymmetric token; None for HMAC
    good_until: float  # time.time() seconds


def digest(raw: str) -> bytes:
    return hashlib.sha256(raw.encode()).digest()


class VerifiedTokens:
    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, raw: str) -> Entry | None:
        """The entry for this exact token while it is good; an expired one is dropped."""
        key = digest(raw)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry.good_until:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(
        self, raw: str, identity: Identity, *, alg: str, kid: str | None, key: Any, max_age: float
    ) -> None:
        exp = identity.claims["exp"]  # required and a finite number once verified
        good_until = min(float(exp), self._clock() + max_age)
        if self.max_entries <= 0:
            return
        entry = Entry(identity, alg, kid, key, good_until)
        digest_ = digest(raw)
        with self._lock:
            self._entries[digest_] = entry
            self._entries.move_to_end(digest_)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, raw: str) -> None:
        with self._lock:
            self._entries.pop(digest(raw), None)
