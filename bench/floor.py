"""The benchmark's floor: the project's WSGI application with one bare route in front of it.

`make bench` divides every scenario's throughput by this route's, measured in the same
gunicorn process and the same run, so a noisy shared machine still gives comparable ratios.
GET /bench/floor is Django's WSGI handler, URL resolution and one Ninja operation returning a
small dict (bench/floor_urls.py): what the framework costs before this project adds
middleware, auth or a query. Every other path goes to todo_project.wsgi's application.

    gunicorn 'bench.floor:make_application()' -c gunicorn.conf.py     # what bench/run.py runs

Benchmark code only: nothing of the product imports it (tests/bench/test_floor.py checks).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse

FLOOR_PATH = "/bench/floor"
FLOOR_URLCONF = "bench.floor_urls"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BareHandler(WSGIHandler):
    """Django's WSGI handler without middleware, resolving URLs against the floor's only."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []

        def bare(request: HttpRequest) -> HttpResponse:
            request.urlconf = FLOOR_URLCONF  # type: ignore[attr-defined]  # Django reads it if set
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


def make_application() -> WsgiApp:
    """todo_project.wsgi's application (settings, Django set up, system checks) with the floor."""
    from todo_project.wsgi import application  # here: importing it sets Django up

    return with_floor(application)
