"""The quick start's API, twice: bare, and with the optional register_auth_errors(api).

`api` is a bare ``NinjaAPI(auth=BetterAuthBearer())`` with nothing registered: Ninja's own
handlers answer 401 / 403 / 503 with a JSON body. `quick_start_api` adds
``register_auth_errors``, as the quick start shows: the same, plus ``WWW-Authenticate`` and
``Retry-After``.
"""

from django.http import HttpRequest
from ninja import NinjaAPI

from authbridge import Identity
from authbridge.ninja import AsyncBetterAuthBearer, BetterAuthBearer, register_auth_errors


def describe(identity: Identity) -> dict[str, str | None]:
    return {"user_id": identity.user_id, "email": identity.email, "name": identity.name}


def with_routes(api: NinjaAPI) -> NinjaAPI:
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

    return api


api = with_routes(NinjaAPI(auth=BetterAuthBearer()))

quick_start_api = NinjaAPI(auth=BetterAuthBearer(), urls_namespace="quick-start")
register_auth_errors(quick_start_api)
with_routes(quick_start_api)
