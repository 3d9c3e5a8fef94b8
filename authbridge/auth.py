"""BetterAuthBearer and register_auth_errors(api): the only HTTP-aware code of authbridge."""

import logging
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from authbridge.config import get_config, get_verifier
from authbridge.errors import AuthError, InvalidToken, KeysUnavailable, UserMismatch
from authbridge.identity import Identity
from authbridge.metrics import AUTH_REFUSALS

logger = logging.getLogger(__name__)

NO_CREDENTIALS = "Send Authorization: Bearer <JWT> (a Better Auth token)."


class BetterAuthBearer(HttpBearer):
    """Authorization: Bearer <JWT> -> Identity on request.auth; raises authbridge errors."""

    def __init__(self, *, bind_path_user: bool = False) -> None:
        super().__init__()
        self.bind_path_user = bind_path_user

    def __call__(self, request: HttpRequest) -> Identity | None:
        # Parsed here, not by HttpBearer.__call__, which logs the raw header in DEBUG.
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme:
            return None  # Ninja answers 401 with the bare challenge
        token = token.strip()
        if not token:
            raise InvalidToken("The bearer token is empty.", reason="empty")
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> Identity:
        identity = get_verifier().verify(token)
        if self.bind_path_user:
            match = request.resolver_match
            if match is None or match.kwargs.get("user_id") != identity.user_id:
                raise UserMismatch("The path names another user.", reason="user_mismatch")
        return identity


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def auth_error_response(request: HttpRequest, exc: AuthError) -> HttpResponse:
    AUTH_REFUSALS.labels(exc.reason).inc()
    response = JsonResponse({"detail": exc.description}, status=exc.status)
    if isinstance(exc, InvalidToken):
        response["WWW-Authenticate"] = (
            f"Bearer realm={quoted(get_config().realm)}, error={quoted('invalid_token')}, "
            f"error_description={quoted(exc.description)}"
        )
        # kid is the client's: repr (no raw newlines to forge log lines), capped in length.
        logger.info("token refused: reason=%s alg=%s kid=%.80r", exc.reason, exc.alg, exc.kid)
    elif isinstance(exc, KeysUnavailable):
        response["Retry-After"] = str(exc.retry_after_seconds)
    else:
        # The path is the client's too: repr, so a %0A in it cannot forge a log line.
        logger.info("request refused: reason=%s path=%.300r", exc.reason, request.path)
    return response


def no_credentials_response(
    request: HttpRequest, exc: AuthenticationError | type[AuthenticationError]
) -> HttpResponse:
    AUTH_REFUSALS.labels("no_credentials").inc()
    response = JsonResponse({"detail": NO_CREDENTIALS}, status=HTTPStatus.UNAUTHORIZED)
    response["WWW-Authenticate"] = f"Bearer realm={quoted(get_config().realm)}"
    return response


def register_auth_errors(api: NinjaAPI) -> None:
    """401 (RFC 6750 challenge), 403 and 503 (+ Retry-After) for every authbridge refusal."""
    for error in (InvalidToken, KeysUnavailable, UserMismatch):
        api.add_exception_handler(error, auth_error_response)  # type: ignore[arg-type]
    api.add_exception_handler(AuthenticationError, no_credentials_response)
