"""authbridge refusals: AuthError -> InvalidToken 401 | KeysUnavailable 503 | UserMismatch 403."""

from http import HTTPStatus
from typing import ClassVar


class AuthError(Exception):
    """Base of authbridge refusals. Messages are safe to show; they never contain the token."""

    status: ClassVar[HTTPStatus]

    def __init__(self, description: str, *, reason: str) -> None:
        super().__init__(description)
        self.description = description
        self.reason = reason  # short code for logs
        self.alg: str | None = None
        self.kid: str | None = None


class InvalidToken(AuthError):
    """401 with WWW-Authenticate: Bearer realm="todo-api", error="invalid_token"."""

    status = HTTPStatus.UNAUTHORIZED


class KeysUnavailable(AuthError):
    """503 + Retry-After: a 401 would make the frontend sign out a user whose token is fine."""

    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, description: str, *, reason: str, retry_after_seconds: int) -> None:
        super().__init__(description, reason=reason)
        self.retry_after_seconds = max(1, retry_after_seconds)


class UserMismatch(AuthError):
    """403: a valid token, but the path names another user."""

    status = HTTPStatus.FORBIDDEN
