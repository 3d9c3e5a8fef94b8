"""Django Ninja: BetterAuthBearer (sync), AsyncBetterAuthBearer and register_auth_errors(api).

Refusals are Ninja's own errors, so a bare ``NinjaAPI(auth=BetterAuthBearer())`` answers a bad
token with 401 and unavailable keys with 503. ``register_auth_errors(api)`` adds what Ninja's
default handlers cannot: the RFC 6750 ``WWW-Authenticate`` challenge, ``Retry-After`` on a 503,
the log line and the refusal counter.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer

from authbridge.bearer import averify_token, bearer_token, verify_token
from authbridge.errors import AuthError, InvalidToken, UserMismatch
from authbridge.identity import Identity
from authbridge.refusals import Refusal, no_credentials, refusal_for

__all__ = ["AsyncBetterAuthBearer", "BetterAuthBearer", "register_auth_errors"]


class TokenRefused(AuthenticationError):
    """A bad token: Ninja's 401, carrying the authbridge refusal."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(int(error.status), error.description)
        self.error = error


class RequestRefused(HttpError):
    """Keys unavailable (503) or a path naming another user (403)."""

    def __init__(self, error: AuthError) -> None:
        super().__init__(int(error.status), error.description)
        self.error = error


def refused(error: AuthError) -> HttpError:
    return TokenRefused(error) if isinstance(error, InvalidToken) else RequestRefused(error)


def check_path_user(request: HttpRequest, argument: str | None, identity: Identity) -> None:
    """With ``bind_path_user="user_id"``, the path's ``{user_id}`` must be the token's sub."""
    if argument is None:
        return
    match = request.resolver_match
    if match is None or match.kwargs.get(argument) != identity.user_id:
        raise UserMismatch("The path names another user.", reason="user_mismatch")


class BetterAuthBearer(HttpBearer):
    """``Authorization: Bearer <JWT>`` -> ``request.auth``, an :class:`authbridge.Identity`.

    ``bind_path_user``: the name of a path argument (e.g. ``"user_id"``) that must equal the
    token's ``sub``, else 403.
    """

    def __init__(self, *, bind_path_user: str | None = None) -> None:
        super().__init__()
        self.bind_path_user = bind_path_user

    def __call__(self, request: HttpRequest) -> Identity | None:
        try:
            token = bearer_token(request)
            return None if token is None else self.authenticate(request, token)
        except AuthError as error:
            raise refused(error) from None

    def authenticate(self, request: HttpRequest, token: str) -> Identity:
        identity = verify_token(token)
        check_path_user(request, self.bind_path_user, identity)
        return identity


class AsyncBetterAuthBearer(BetterAuthBearer):
    """BetterAuthBearer for async operations: verifies on the event loop while the keys are
    cached; a JWKS fetch runs on a worker thread, never blocking the loop."""

    is_async = True  # Ninja awaits __call__

    async def __call__(self, request: HttpRequest) -> Identity | None:  # type: ignore[override]
        try:
            token = bearer_token(request)
            if token is None:
                return None
            identity = await averify_token(token)
            check_path_user(request, self.bind_path_user, identity)
            return identity
        except AuthError as error:
            raise refused(error) from None


def register_auth_errors(api: NinjaAPI) -> None:
    """Answer authbridge refusals with their RFC 6750 challenge, Retry-After, log and counter."""

    def answer(request: HttpRequest, refusal: Refusal) -> HttpResponse:
        response = api.create_response(request, {"detail": refusal.detail}, status=refusal.status)
        for name, value in refusal.headers.items():
            response[name] = value
        return response

    def on_refused(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, refusal_for(request, exc.error))

    def on_no_credentials(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, no_credentials())

    api.add_exception_handler(TokenRefused, on_refused)
    api.add_exception_handler(RequestRefused, on_refused)
    api.add_exception_handler(AuthenticationError, on_no_credentials)
