"""Identity: who a verified token says the caller is."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token says the caller is: ``user_id`` is its ``sub``; ``claims`` all of
    its claims (read-only, as signed: check the types of custom ones before trusting them)."""

    user_id: str  # from "sub"
    email: str | None
    name: str | None
    claims: Mapping[str, Any]

    @property
    def issued_at(self) -> float | None:
        """The token's ``iat`` (seconds since the epoch), None when it has none."""
        iat = self.claims.get("iat")
        return float(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None


def identity_of(request: Any) -> Identity | None:
    """The Identity a Ninja or DRF adapter set as ``request.auth``; None on a request that
    carries none (no token, a route without authentication). Typed, unlike ``request.auth``."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Identity) else None


def identity_required_of(request: Any) -> Identity:
    """identity_of for code behind the bearer: a request without an Identity is a bug there."""
    identity = identity_of(request)
    if identity is None:
        raise RuntimeError("no authbridge Identity on this request: is the route authenticated?")
    return identity
