"""Verifier.verify(raw) -> Identity: Better Auth JWTs, knowing nothing of requests or Django."""

import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt import exceptions as jwt_errors
from jwt.algorithms import OKPAlgorithm

from authbridge.errors import AuthError, InvalidToken
from authbridge.identity import Identity
from authbridge.keys import KeySource
from authbridge.tokencache import Entry, VerifiedTokens

logger = logging.getLogger(__name__)

MAX_TOKEN_BYTES = 8 * 1024
MAX_USER_ID_LENGTH = 255
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGS = frozenset(
    {"EdDSA", "Ed25519", "ES256", "ES384", "ES512"}
    | {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
# typ names the kind of token; anything but a plain JWT (e.g. Better Auth's session-cache
# cookie, "better-auth.session-cache+jwt") is meant for something else.
ACCEPTED_TYP = frozenset({"jwt", "application/jwt"})
TIME_CLAIMS = ("exp", "iat", "nbf")
# Header members that carry a key or point at one; Better Auth sets none of them.
EMBEDDED_KEY_HEADERS = ("jku", "x5u", "jwk", "x5c")
MAX_KID_LENGTH = 256
KEY_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_KID_LENGTH}}}")
NOT_A_JWT_HINT = (
    "A JWT is expected, not a Better Auth session token: get one with authClient.token() "
    "or GET /api/auth/token (jwt() plugin)."
)
# PyJWT's claim errors, translated at the boundary; the signature was already good.
CLAIM_ERRORS: tuple[tuple[type[jwt_errors.PyJWTError], str, str], ...] = (
    (jwt_errors.ExpiredSignatureError, "The token has expired.", "expired"),
    (jwt_errors.ImmatureSignatureError, "The token is not valid yet.", "immature"),
    (jwt_errors.MissingRequiredClaimError, "The token lacks a required claim.", "missing_claim"),
    (jwt_errors.InvalidIssuedAtError, "The token's exp, iat and nbf must be numbers.", "bad_time"),
    (jwt_errors.InvalidSignatureError, "The token signature does not verify.", "bad_signature"),
    (jwt_errors.DecodeError, "The token is malformed.", "malformed"),
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


def same_url(left: str, right: str) -> bool:
    return left.rstrip("/") == right.rstrip("/")


def check_issuer_and_audience(
    claims: Mapping[str, Any], *, issuer: str, audiences: Sequence[str]
) -> None:
    if issuer and not (isinstance(claims.get("iss"), str) and same_url(claims["iss"], issuer)):
        raise InvalidToken("The token was issued by someone else.", reason="bad_issuer")
    if audiences:
        aud = claims.get("aud")
        got = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(a, str) and same_url(a, b) for a in got for b in audiences):
            raise InvalidToken("The token is meant for another audience.", reason="bad_audience")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_lifetime(claims: Mapping[str, Any], *, max_seconds: int, leeway: int) -> None:
    """Time claims are JSON numbers; exp - iat (without iat: exp - now) is at most max_seconds."""
    if not all(is_number(claims[name]) for name in TIME_CLAIMS if name in claims):
        raise InvalidToken("The token's exp, iat and nbf must be numbers.", reason="bad_time")
    if "iat" in claims:
        lifetime = claims["exp"] - claims["iat"]
    else:
        lifetime = claims["exp"] - time.time() - leeway
    if lifetime > max_seconds:
        raise InvalidToken(
            f"The token is valid for longer than {max_seconds} seconds.", reason="too_long_lived"
        )


def identity_from(claims: Mapping[str, Any]) -> Identity:
    sub = claims.get("sub")
    # NUL cannot be stored by PostgreSQL; such a sub would fail later, as a 500.
    if not isinstance(sub, str) or not sub or len(sub) > MAX_USER_ID_LENGTH or "\x00" in sub:
        raise InvalidToken("The token's subject (sub) is missing or invalid.", reason="bad_sub")
    email, name = claims.get("email"), claims.get("name")
    return Identity(
        user_id=sub,
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        claims=MappingProxyType(dict(claims)),
    )


class Verifier:
    """Checks, in order: size, shape, alg allowlist, header, key from the right source, claims.

    A token verified before is answered from a bounded cache (authbridge.tokencache) until its
    exp, while the JWKS key that verified it is still current (``VerifiedTokens(max_entries=0)``
    turns it off).
    """

    def __init__(
        self,
        *,
        jwks: KeySource | None,
        secrets: Sequence[str],
        issuer: str,
        audiences: Sequence[str],
        leeway_seconds: int,
        max_lifetime_seconds: int = 86_400,
        verified_tokens: VerifiedTokens | None = None,
    ) -> None:
        self._jwks, self._secrets = jwks, tuple(secrets)
        self._issuer, self._audiences = issuer, tuple(audiences)
        self._leeway, self._max_lifetime = leeway_seconds, max_lifetime_seconds
        # Secrets, issuer and audiences are fixed for this Verifier (a settings change builds a
        # new one, with an empty cache); JWKS keys are not, so an entry names its key.
        self._verified = verified_tokens if verified_tokens is not None else VerifiedTokens()

    def verify(self, raw: str) -> Identity:
        cached = self._verified.get(raw)
        current_key = None
        if cached is not None:
            current_key = self._current_key(raw, cached)
            if current_key is cached.key:
                return cached.identity
            self._verified.discard(raw)  # the JWKS changed: verify again, with the current key
        header = read_header(raw)
        alg, kid = header["alg"], header.get("kid")
        try:
            claims, key = self._verified_claims(raw, alg=alg, kid=kid, key=current_key)
            identity = self._identity(claims)
        except AuthError as error:
            error.alg, error.kid = alg, kid
            raise
        self._verified.put(raw, identity, alg=alg, kid=kid, key=key, max_age=self._max_lifetime)
        return identity

    def needs_io(self, raw: str) -> bool:
        """Whether ``verify(raw)`` may fetch the JWKS or read the shared store right now: an
        async caller runs it off the event loop then, and on the loop otherwise."""
        if self._jwks is None:
            return False
        try:
            header = read_header(raw)
        except InvalidToken:
            return False  # verify() refuses it before any key lookup
        if header["alg"] in HMAC_ALGS:
            return False
        needs_io = getattr(self._jwks, "needs_io", None)
        return True if needs_io is None else bool(needs_io(header.get("kid")))

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        """The checks on claims that follow jwt.decode's: lifetime, issuer, audience, sub."""
        check_lifetime(claims, max_seconds=self._max_lifetime, leeway=self._leeway)
        check_issuer_and_audience(claims, issuer=self._issuer, audiences=self._audiences)
        return identity_from(claims)

    def _current_key(self, raw: str, entry: Entry) -> Any:
        """The key the key source gives now for this token (None for HMAC), asked as a full
        verification would ask, so a removed key is refused (401) or an unreachable JWKS
        answered (503) exactly as without the cache. A HMAC token's secrets never change.
        """
        if entry.key is None or self._jwks is None:
            return None
        try:
            return self._jwks.key_for(
                kid=entry.kid, alg=entry.alg, issued_at=entry.identity.claims.get("iat")
            )
        except AuthError as error:
            self._verified.discard(raw)
            error.alg, error.kid = entry.alg, entry.kid
            raise

    def _verified_claims(
        self, raw: str, *, alg: str, kid: str | None, key: Any = None
    ) -> tuple[dict[str, Any], Any]:
        """The claims, and the JwksKey that verified them (None for HMAC); ``key``: already
        looked up for this token."""
        if alg in HMAC_ALGS:
            if not self._secrets:
                raise InvalidToken("HMAC tokens are not accepted here.", reason="no_secret")
            for secret in self._secrets[:-1]:
                try:
                    return self._decode(raw, secret, alg), None
                except InvalidToken as error:
                    if error.reason != "bad_signature":
                        raise  # right secret, bad claims: no other secret will do better
            return self._decode(raw, self._secrets[-1], alg), None
        if self._jwks is None:
            raise InvalidToken("Asymmetric tokens are not accepted here.", reason="no_jwks")
        if not (self._issuer and self._audiences):  # the check authbridge.E006 stops this earlier
            raise InvalidToken("No expected issuer and audience.", reason="no_issuer_audience")
        if key is None:
            # Read unverified only to choose the status, never to accept: claims that can never
            # pass are 401 before any key lookup, so they cannot cost a JWKS fetch or look like
            # an outage (503); iat tells the key source how old the token claims to be.
            unverified = self._decode(raw, None, alg, verify_signature=False)
            self._identity(unverified)
            key = self._jwks.key_for(kid=kid, alg=alg, issued_at=unverified.get("iat"))
        return self._decode(raw, key.jwk.key, alg), key

    def _decode(
        self, raw: str, key: Any, alg: str, *, verify_signature: bool = True
    ) -> dict[str, Any]:
        try:
            return jwt.decode(
                raw,
                key,
                algorithms=[alg],
                leeway=self._leeway,
                options={
                    "verify_signature": verify_signature,
                    # Without the signature PyJWT skips every claim unless told otherwise.
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_sub": True,
                    "verify_jti": True,
                    "require": ["exp", "sub"],
                    # iss and aud: check_issuer_and_audience (trailing "/" ignored).
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except OverflowError as exc:  # PyJWT's int() of an infinite exp, iat or nbf
            raise InvalidToken(
                "The token's exp, iat and nbf must be numbers.", reason="bad_time"
            ) from exc
        except jwt_errors.PyJWTError as exc:
            for kind, description, reason in CLAIM_ERRORS:
                if isinstance(exc, kind):
                    raise InvalidToken(description, reason=reason) from exc
            raise InvalidToken("The token is invalid.", reason="invalid") from exc
