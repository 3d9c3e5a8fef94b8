"""The quick start's API: every operation needs a Better Auth token, nothing else registered."""

from django.http import HttpRequest
from ninja import NinjaAPI

from authbridge import Identity
from authbridge.ninja import AsyncBetterAuthBearer, BetterAuthBearer

api = NinjaAPI(auth=BetterAuthBearer())


def describe(identity: Identity) -> dict[str, str | None]:
    return {"user_id": identity.user_id, "email": identity.email, "name": identity.name}


@api.get("/me")
def me(request: HttpRequest) -> dict[str, str | None]:
    identity: Identity = request.auth  # type: ignore[attr-defined]
    return describe(identity)


@api.get("/me-async", auth=AsyncBetterAuthBearer())
async def me_async(request: HttpRequest) -> dict[str, str | None]:
    identity: Identity = request.auth  # type: ignore[attr-defined]
    return describe(identity)


@api.get("/users/{user_id}/notes", auth=BetterAuthBearer(bind_path_user="user_id"))
def notes(request: HttpRequest, user_id: str) -> dict[str, str]:
    return {"owner": user_id}
