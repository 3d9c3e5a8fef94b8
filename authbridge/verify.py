"""Verifier.verify(raw) -> Identity: Better Auth JWTs, knowing nothing of requests or Django.

The steps, each a small function of its own module: the header (authbridge.header), the key
from the right source (authbridge.keys, authbridge.jwks), jwt.decode with one algorithm, then
the claims (authbridge.claims).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from jwt import exceptions as jwt_errors

from authbridge.claims import check_issuer_and_audience, check_lifetime, identity_from
from authbridge.errors import AuthError, InvalidToken
from authbridge.header import HMAC_ALGS, read_header
from authbridge.identity import Identity
from authbridge.keys import KeySource
from authbridge.tokencache import Entry, VerifiedTokens

# PyJWT's claim errors, translated at the boundary; the signature was already good.
CLAIM_ERRORS: tuple[tuple[type[jwt_errors.PyJWTError], str, str], ...] = (
    (jwt_errors.ExpiredSignatureError, "The token has expired.", "expired"),
    (jwt_errors.ImmatureSignatureError, "The token is not valid yet.", "immature"),
    (jwt_errors.MissingRequiredClaimError, "The token lacks a required claim.", "missing_claim"),
    (jwt_errors.InvalidIssuedAtError, "The token's exp, iat and nbf must be numbers.", "bad_time"),
    (jwt_errors.InvalidSignatureError, "The token signature does not verify.", "bad_signature"),
    (jwt_errors.DecodeError, "The token is malformed.", "malformed"),
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
        except (OverflowError, TypeError) as exc:
            # PyJWT's int() of an infinite exp, iat or nbf; PyJWT 2.10 (the oldest release this
            # package supports) also let a list or an object there through as a TypeError.
            raise InvalidToken(
                "The token's exp, iat and nbf must be numbers.", reason="bad_time"
            ) from exc
        except jwt_errors.PyJWTError as exc:
            for kind, description, reason in CLAIM_ERRORS:
                if isinstance(exc, kind):
                    raise InvalidToken(description, reason=reason) from exc
            raise InvalidToken("The token is invalid.", reason="invalid") from exc
