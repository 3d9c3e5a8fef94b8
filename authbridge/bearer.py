"""The bearer token of a request, verified on a thread or on an event loop."""

from asgiref.sync import sync_to_async
from django.http import HttpRequest

from authbridge.config import get_verifier
from authbridge.errors import InvalidToken
from authbridge.identity import Identity


def bearer_token(request: HttpRequest) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without one (another scheme, or
    no header). The header is never logged: Ninja's HttpBearer logs it in DEBUG."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token:
        raise InvalidToken("The bearer token is empty.", reason="empty")
    return token


def verify_token(token: str) -> Identity:
    """The Identity in a Better Auth token, or an authbridge.AuthError."""
    return get_verifier().verify(token)


async def averify_token(token: str) -> Identity:
    """verify_token for async code: on the event loop when the keys are cached (it is CPU work
    of microseconds), on a worker thread when the JWKS must be fetched or read from the cache."""
    verifier = get_verifier()
    if verifier.needs_io(token):
        return await sync_to_async(verifier.verify, thread_sensitive=False)(token)
    return verifier.verify(token)
