"""Django REST framework: BetterAuthAuthentication.

``request.user`` is a :class:`authbridge.users.TokenUser` (or what BETTER_AUTH_USER_LOADER
returns), ``request.auth`` the :class:`authbridge.Identity`. A bad token is 401 with the
``WWW-Authenticate: Bearer`` challenge (DRF answers 403 to authentication classes without
one); unavailable keys are 503 with ``Retry-After``.
"""

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from authbridge.bearer import bearer_token, verify_token
from authbridge.errors import AuthError, InvalidToken, KeysUnavailable
from authbridge.identity import Identity
from authbridge.refusals import challenge, refusal_for
from authbridge.users import user_for

__all__ = ["BetterAuthAuthentication", "KeysUnavailableError"]

CHALLENGE_ATTRIBUTE = "_authbridge_challenge"


class KeysUnavailableError(exceptions.APIException):
    """503; DRF's exception handler turns ``wait`` into ``Retry-After``."""

    status_code = 503
    default_detail = "The token signing keys cannot be fetched right now; try again shortly."
    default_code = "keys_unavailable"

    def __init__(self, detail: str, *, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


class BetterAuthAuthentication(BaseAuthentication):
    """``Authorization: Bearer <JWT>`` from Better Auth."""

    def authenticate(self, request: Request) -> tuple[Any, Identity] | None:
        try:
            token = bearer_token(request._request)
            if token is None:
                return None  # DRF tries the next class, else answers 401 with our challenge
            identity = verify_token(token)
            return user_for(identity), identity
        except AuthError as error:
            raise self.refused(request, error) from None

    def refused(self, request: Request, error: AuthError) -> exceptions.APIException:
        refusal = refusal_for(request._request, error)
        if isinstance(error, KeysUnavailable):
            return KeysUnavailableError(refusal.detail, wait=error.retry_after_seconds)
        if isinstance(error, InvalidToken):
            setattr(request, CHALLENGE_ATTRIBUTE, refusal.headers["WWW-Authenticate"])
            return exceptions.AuthenticationFailed(refusal.detail)
        return exceptions.PermissionDenied(refusal.detail)

    def authenticate_header(self, request: Request) -> str:
        return getattr(request, CHALLENGE_ATTRIBUTE, None) or challenge()
