"""The one NinjaAPI: default auth, routers and error handlers, registered in one place."""

from ninja import NinjaAPI

from todo_project import health
from todo_project.errors import JsonObjectParser, register_error_handlers

api = NinjaAPI(
    title="Todo API",
    version="1.0.0",
    description="Multi-user tasks for a Better Auth frontend. Send `Authorization: Bearer <JWT>`.",
    urls_namespace="api",
    parser=JsonObjectParser(),
)
api.add_router("/", health.router)
register_error_handlers(api)
