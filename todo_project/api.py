"""The one NinjaAPI: default auth, routers (and /api/me: the token's claims), error handlers."""

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI, Router, Schema
from ninja.openapi.schema import OpenAPISchema

from authbridge import identity_required_of
from authbridge.ninja import BetterAuthBearer, register_auth_errors
from edge import health
from edge.errors import JsonObjectParser, register_error_handlers, register_refusals
from edge.openapi import response_headers
from edge.schemas import DetailOut
from edge.throttles import user_throttles
from tasks.api import account_router
from tasks.api import router as tasks_router
from tasks.errors import REFUSALS as TASK_REFUSALS


class TodoAPI(NinjaAPI):
    """Builds its OpenAPI document once per process (about 30 ms each time otherwise, on a
    public, unauthenticated route); the routes cannot change after start."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        key = (path_prefix, tuple(sorted((path_params or {}).items())))
        cache: dict[Any, OpenAPISchema] = self.__dict__.setdefault("_schemas", {})
        if key not in cache:
            cache[key] = super().get_openapi_schema(
                path_prefix=path_prefix, path_params=path_params
            )
        return cache[key]


me_router = Router(tags=["me"])


class MeOut(Schema):
    id: str
    email: str | None
    name: str | None


@me_router.get(
    "/me",
    response={200: MeOut, 401: DetailOut, 429: DetailOut, 503: DetailOut},
    summary="The signed-in user, from the token's claims",
    operation_id="get_me",
    openapi_extra=response_headers(),
)
def me(request: HttpRequest) -> MeOut:
    identity = identity_required_of(request)
    return MeOut(id=identity.user_id, email=identity.email, name=identity.name)


api = TodoAPI(
    title="Todo API",
    version="1.0.0",
    description="Multi-user tasks for a Better Auth frontend. Send `Authorization: Bearer <JWT>`.",
    urls_namespace="api",
    parser=JsonObjectParser(),
    auth=BetterAuthBearer(),
    throttle=user_throttles(),  # per user; health and ready carry no token, so never throttled
)
api.add_router("/", health.router)
api.add_router("/{user_id}/tasks", tasks_router)
api.add_router("/{user_id}/account", account_router)
api.add_router("/", me_router)
register_error_handlers(api)
register_refusals(api, TASK_REFUSALS)
register_auth_errors(api)
