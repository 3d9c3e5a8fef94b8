"""The benchmark floor is a WSGI wrapper in bench/: the product neither has nor imports it."""

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings as django_settings

from bench.floor import FLOOR_PATH, with_floor
from todo_project.wsgi import application

ROOT = Path(__file__).resolve().parents[2]
NOT_PRODUCT = {"bench", "tests", "scripts", "examples", "node_modules"}


def wsgi_get(app: Callable[..., Iterable[bytes]], path: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_HOST": "127.0.0.1"}
    setup_testing_defaults(environ)
    answer: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"] = status

    body = b"".join(app(environ, start_response))
    return answer["status"], body


def product_modules() -> list[Path]:
    """manage.py, gunicorn.conf.py and every Python package at the top of the repository,
    except the benchmark's, the tests' and the scripts'."""
    packages = [p.parent for p in ROOT.glob("*/__init__.py") if p.parent.name not in NOT_PRODUCT]
    files = [ROOT / "manage.py", ROOT / "gunicorn.conf.py"]
    return files + [path for package in packages for path in package.rglob("*.py")]


def imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_product_never_imports_bench() -> None:
    modules = product_modules()
    assert ROOT / "todo_project" / "wsgi.py" in modules  # the positive control: it looks there
    importers = [
        str(path.relative_to(ROOT))
        for path in modules
        if any(name == "bench" or name.startswith("bench.") for name in imported_names(path))
    ]
    assert importers == []


def test_the_floor_is_no_setting_of_the_product() -> None:
    assert not hasattr(django_settings, "BENCH_FLOOR_ROUTE")


@pytest.mark.django_db
def test_the_products_application_has_no_floor_route(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    status, _ = wsgi_get(application, FLOOR_PATH)
    assert status.startswith("404")


@pytest.mark.django_db
def test_with_the_floor_it_answers_and_the_api_still_works(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    app = with_floor(application)
    assert wsgi_get(app, FLOOR_PATH) == ("200 OK", b'{"status": "ok"}')
    status, body = wsgi_get(app, "/api/health")
    assert (status, body) == ("200 OK", b'{"status": "ok"}')
    # only the exact floor path bypasses the project's stack
    assert wsgi_get(app, FLOOR_PATH + "/")[0].startswith("404")
