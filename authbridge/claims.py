"""The checks on a token's claims that follow jwt.decode's: numeric time claims, a lifetime
ceiling, issuer, audience, and the subject that becomes the Identity."""

import math
import time
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from authbridge.errors import InvalidToken
from authbridge.identity import Identity

MAX_USER_ID_LENGTH = 255
TIME_CLAIMS = ("exp", "iat", "nbf")


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
