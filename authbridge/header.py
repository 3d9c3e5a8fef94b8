"""What a token's header may say, checked before any key: length cap, shape, the alg
allowlist, typ, crit, keys the token brings itself, and the key id."""

import re
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt import exceptions as jwt_errors
from jwt.algorithms import OKPAlgorithm

from authbridge.errors import AuthError, InvalidToken

MAX_TOKEN_BYTES = 8 * 1024
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGS = frozenset(
    {"EdDSA", "Ed25519", "ES256", "ES384", "ES512"}
    | {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
# typ names the kind of token; anything but a plain JWT (e.g. Better Auth's session-cache
# cookie, "better-auth.session-cache+jwt") is meant for something else.
ACCEPTED_TYP = frozenset({"jwt", "application/jwt"})
# Header members that carry a key or point at one; Better Auth sets none of them.
EMBEDDED_KEY_HEADERS = ("jku", "x5u", "jwk", "x5c")
MAX_KID_LENGTH = 256
KEY_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_KID_LENGTH}}}")
NOT_A_JWT_HINT = (
    "A JWT is expected, not a Better Auth session token: get one with authClient.token() "
    "or GET /api/auth/token (jwt() plugin)."
)


class Ed25519Algorithm(OKPAlgorithm):
    """alg "Ed25519" (RFC 9864): EdDSA restricted to Ed25519 keys, which PyJWT lacks by name."""

    def prepare_key(self, key: Any) -> Any:
        prepared = super().prepare_key(key)
        if not isinstance(prepared, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
            raise jwt_errors.InvalidKeyError("alg Ed25519 needs an Ed25519 key")
        return prepared


try:
    jwt.get_algorithm_by_name("Ed25519")
except NotImplementedError:  # a PyJWT that knows the name itself needs no help
    jwt.register_algorithm("Ed25519", Ed25519Algorithm())


def read_header(raw: str) -> dict[str, Any]:
    """Length cap, shape and header checks that need no key."""
    if len(raw.encode()) > MAX_TOKEN_BYTES:
        raise InvalidToken(f"The token is longer than {MAX_TOKEN_BYTES} bytes.", reason="too_long")
    if raw.count(".") != 2:
        raise InvalidToken(NOT_A_JWT_HINT, reason="not_a_jwt")
    try:
        header = jwt.get_unverified_header(raw)
    except jwt_errors.PyJWTError as exc:
        raise InvalidToken("The token is malformed.", reason="malformed") from exc
    try:
        check_header(header)
    except AuthError as error:  # the log line names what the client sent (auth.py caps it)
        alg, kid = header.get("alg"), header.get("kid")
        error.alg = alg if isinstance(alg, str) else None
        error.kid = kid if isinstance(kid, str) else None
        raise
    return header


def check_header(header: Mapping[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in HMAC_ALGS | ASYMMETRIC_ALGS:
        raise InvalidToken("The token's algorithm is not accepted.", reason="alg_not_allowed")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYP):
        raise InvalidToken("The token is not an access token (typ).", reason="bad_typ")
    if "crit" in header:
        raise InvalidToken("The token names critical header extensions.", reason="crit")
    # Keys come only from configuration: a token that brings its own (RFC 8725 §3.10) is forged.
    if any(name in header for name in EMBEDDED_KEY_HEADERS):
        raise InvalidToken(
            "The token carries its own key or key URL (jku, x5u, jwk or x5c).",
            reason="embedded_key",
        )
    kid = header.get("kid")
    if kid is not None and not is_key_id(kid):
        raise InvalidToken(
            f"The token's key id (kid) is not 1-{MAX_KID_LENGTH} printable ASCII characters.",
            reason="malformed_kid",
        )


def is_key_id(kid: Any) -> bool:
    """Could ``kid`` name a key? 1-256 printable ASCII characters (Better Auth's are 32)."""
    return isinstance(kid, str) and KEY_ID.fullmatch(kid) is not None
