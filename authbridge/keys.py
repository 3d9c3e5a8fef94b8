"""JWKS keys: parsing a key set, picking the key for a token, and pinned keys (no HTTP).

Fetching and caching a JWKS is authbridge.jwks (authbridge.jwksstore: the shared store).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from authbridge.errors import InvalidToken

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
MAX_JWKS_KEYS = 32  # keys taken from one document; later ones are ignored
MIN_RSA_BITS = 2048
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


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
    def key_for(self, *, kid: str | None, alg: str, issued_at: float | None = None) -> JwksKey:
        """The key for a token; ``issued_at``: its (unverified) iat, None when it has none."""
        ...


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

    def needs_io(self, kid: str | None) -> bool:
        return False

    def key_for(self, *, kid: str | None, alg: str, issued_at: float | None = None) -> JwksKey:
        key = pick_key(self._keys, kid=kid, alg=alg)
        if key is None:
            raise refuse_unknown_key(self._keys, kid=kid, alg=alg)
        return key
