"""The benchmark's floor: a bare Ninja route with no middleware, only when BENCH_FLOOR_ROUTE is on.

`make bench` divides every scenario's throughput by this route's, measured in the same
gunicorn process and the same run, so a noisy shared machine still gives comparable ratios.
It is Django's WSGI handler, URL resolution and one Ninja operation returning a small dict:
what the framework costs before this project adds middleware, auth or a query.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import path
from ninja import NinjaAPI

FLOOR_PATH = "/bench/floor"

floor_api = NinjaAPI(urls_namespace="bench", docs_url=None, openapi_url=None)


@floor_api.get("/floor", auth=None)
def floor(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


urlpatterns = [path("bench/", floor_api.urls)]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BareHandler(WSGIHandler):
    """Django's WSGI handler without middleware, resolving URLs against this module only."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []

        def bare(request: HttpRequest) -> HttpResponse:
            request.urlconf = __name__  # type: ignore[attr-defined]  # Django reads it if set
            response: HttpResponse = self._get_response(request)  # type: ignore[attr-defined]
            return response

        self._middleware_chain = convert_exception_to_response(bare)


def with_floor(application: WsgiApp) -> WsgiApp:
    """``application``, except that FLOOR_PATH goes to the bare handler."""
    bare = BareHandler()

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == FLOOR_PATH:
            return bare(environ, start_response)
        return application(environ, start_response)

    return dispatch
