"""Plain Django: BetterAuthMiddleware (``request.identity``, lazily) and ``@identity_required``.

``request.identity`` is verified on first use: truthy (an :class:`authbridge.Identity`) for a
good token, falsy without a token or with a refused one. ``get_identity(request)`` /
``await aget_identity(request)`` give the Identity or None and raise the refusal;
``@identity_required`` answers it (401 + challenge, 503 + Retry-After) for sync and async views.
The middleware never touches ``request.user``.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from authbridge.bearer import averify_token, bearer_token, verify_token
from authbridge.errors import AuthError
from authbridge.identity import Identity
from authbridge.refusals import no_credentials, refusal_for

__all__ = ["BetterAuthMiddleware", "aget_identity", "get_identity", "identity_required"]

RESULT_ATTRIBUTE = "_authbridge_result"
View = TypeVar("View", bound=Callable[..., Any])


def remembered(request: HttpRequest) -> Identity | AuthError | bool | None:
    """The earlier answer for this request; False when there is none yet."""
    result: Identity | AuthError | bool | None = getattr(request, RESULT_ATTRIBUTE, False)
    return result


def answered(request: HttpRequest, result: Identity | AuthError | None) -> Identity | None:
    setattr(request, RESULT_ATTRIBUTE, result)
    if isinstance(result, AuthError):
        raise result
    return result


def get_identity(request: HttpRequest) -> Identity | None:
    """The request's Identity, None without a bearer token; raises the AuthError of a refusal.
    Verified once per request (from a sync view or code: it may fetch the JWKS)."""
    result = remembered(request)
    if result is False:
        try:
            token = bearer_token(request)
            result = None if token is None else verify_token(token)
        except AuthError as error:
            result = error
    return answered(request, result)  # type: ignore[arg-type]


async def aget_identity(request: HttpRequest) -> Identity | None:
    """get_identity for async code: a JWKS fetch never blocks the event loop."""
    result = remembered(request)
    if result is False:
        try:
            token = bearer_token(request)
            result = None if token is None else await averify_token(token)
        except AuthError as error:
            result = error
    return answered(request, result)  # type: ignore[arg-type]


def identity_or_none(request: HttpRequest) -> Identity | None:
    try:
        return get_identity(request)
    except AuthError:
        return None


class BetterAuthMiddleware:
    """Sets ``request.identity`` (lazily verified); sync and async capable."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        request.identity = SimpleLazyObject(lambda: identity_or_none(request))  # type: ignore[attr-defined]
        return self.get_response(request)  # from an async stack, a coroutine Django awaits


def identity_required(view: View) -> View:
    """401 without a good token, 503 + Retry-After while the keys cannot be had; else the
    view runs with ``request.identity`` set to the Identity. Works without the middleware."""
    if iscoroutinefunction(view):

        @wraps(view)
        async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                identity = await aget_identity(request)
            except AuthError as error:
                return refusal_for(request, error).response()
            if identity is None:
                return no_credentials().response()
            request.identity = identity  # type: ignore[attr-defined]
            return await view(request, *args, **kwargs)

        return async_view  # type: ignore[return-value]

    @wraps(view)
    def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            identity = get_identity(request)
        except AuthError as error:
            return refusal_for(request, error).response()
        if identity is None:
            return no_credentials().response()
        request.identity = identity  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return sync_view  # type: ignore[return-value]
