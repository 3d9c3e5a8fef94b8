"""The benchmark's floor route exists only when BENCH_FLOOR_ROUTE is on (only `make bench`)."""

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings

from todo_project.wsgi import make_application


def wsgi_get(app: Callable[..., Iterable[bytes]], path: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_HOST": "127.0.0.1"}
    setup_testing_defaults(environ)
    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = status

    body = b"".join(app(environ, start_response))
    return answer["status"], body


def test_the_setting_is_off_by_default() -> None:
    assert settings.BENCH_FLOOR_ROUTE is False


@pytest.mark.django_db
def test_without_the_setting_there_is_no_floor_route(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    status, _ = wsgi_get(make_application(), "/bench/floor")
    assert status.startswith("404")


@pytest.mark.django_db
def test_with_the_setting_the_floor_answers_and_the_api_still_works(
    settings: Any,
) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.BENCH_FLOOR_ROUTE = True
    app = make_application()
    assert wsgi_get(app, "/bench/floor") == ("200 OK", b'{"status": "ok"}')
    status, body = wsgi_get(app, "/api/health")
    assert (status, body) == ("200 OK", b'{"status": "ok"}')
    # only the exact floor path bypasses the project's stack
    assert wsgi_get(app, "/bench/floor/")[0].startswith("404")
