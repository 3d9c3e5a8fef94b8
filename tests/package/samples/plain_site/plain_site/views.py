"""The quick start's views: the middleware sets request.identity, the decorator requires it."""

from typing import Any

from django.http import HttpRequest, JsonResponse

from authbridge.middleware import identity_required


def describe(request: HttpRequest) -> JsonResponse:
    identity: Any = request.identity  # type: ignore[attr-defined]
    return JsonResponse({"user_id": identity.user_id, "email": identity.email})


@identity_required
def me(request: HttpRequest) -> JsonResponse:
    return describe(request)


@identity_required
async def me_async(request: HttpRequest) -> JsonResponse:
    return describe(request)


def hello(request: HttpRequest) -> JsonResponse:
    """A public view: an identity when a good token came, None otherwise."""
    identity: Any = request.identity  # type: ignore[attr-defined]
    return JsonResponse({"user_id": identity.user_id if identity else None})
