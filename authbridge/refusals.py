"""One answer per refusal, whatever the framework: status, JSON body, headers, log line, metric.

- ``InvalidToken`` -> 401 with ``WWW-Authenticate: Bearer realm=..., error="invalid_token"``
  (RFC 6750): the client should get a new token, or sign in again.
- ``KeysUnavailable`` -> 503 with ``Retry-After``: the token may well be valid; ask again.
- ``UserMismatch`` -> 403: a valid token, for another user than the one the path names.
- no credentials -> 401 with the bare ``Bearer realm=...`` challenge.
"""

import logging
from dataclasses import dataclass, field
from http import HTTPStatus

from django.http import HttpRequest, JsonResponse

from authbridge.config import get_config
from authbridge.errors import AuthError, InvalidToken, KeysUnavailable
from authbridge.metrics import AUTH_REFUSALS

logger = logging.getLogger("authbridge.auth")

NO_CREDENTIALS = "Send Authorization: Bearer <JWT> (a Better Auth token)."


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JsonResponse:
        return JsonResponse({"detail": self.detail}, status=self.status, headers=self.headers)


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(error: str = "", description: str = "") -> str:
    """The WWW-Authenticate value: ``Bearer realm="..."`` and, for a bad token, its error."""
    value = f"Bearer realm={quoted(get_config().realm)}"
    if error:
        value += f", error={quoted(error)}, error_description={quoted(description)}"
    return value


def refusal_for(request: HttpRequest, exc: AuthError) -> Refusal:
    """The answer to ``exc``; counts it and logs it (never the token)."""
    AUTH_REFUSALS.labels(exc.reason).inc()
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidToken):
        headers["WWW-Authenticate"] = challenge("invalid_token", exc.description)
        # kid is the client's: repr (no raw newlines to forge log lines), capped in length.
        logger.info("token refused: reason=%s alg=%s kid=%.80r", exc.reason, exc.alg, exc.kid)
    elif isinstance(exc, KeysUnavailable):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    else:
        # The path is the client's too: repr, so a %0A in it cannot forge a log line.
        logger.info("request refused: reason=%s path=%.300r", exc.reason, request.path)
    return Refusal(int(exc.status), exc.description, headers)


def no_credentials() -> Refusal:
    """No ``Authorization: Bearer`` header at all."""
    AUTH_REFUSALS.labels("no_credentials").inc()
    return Refusal(HTTPStatus.UNAUTHORIZED, NO_CREDENTIALS, {"WWW-Authenticate": challenge()})
