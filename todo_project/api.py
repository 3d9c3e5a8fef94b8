"""The one NinjaAPI: default auth, routers and error handlers, registered in one place."""

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from authbridge.ninja import BetterAuthBearer, register_auth_errors
from tasks.api import account_router, register_task_errors
from tasks.api import router as tasks_router
from edge import health
from todo_project import me
from edge.errors import JsonObjectParser, register_error_handlers
from edge.throttles import user_throttles


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
api.add_router("/", me.router)
register_error_handlers(api)
register_task_errors(api)
register_auth_errors(api)
