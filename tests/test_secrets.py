"""Secrets stay out of pages and logs (issue 18, item 7); the image test covers "no .env inside".

- DEBUG error pages (and error mails) mask the passwords inside DATABASE_URL, REDIS_URL and the
  cache LOCATION built from it, in settings, request.META and frame variables.
- A start with DJANGO_DEBUG off that reads a .env file logs which file and which names, never
  the values.
"""

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from django.views import debug

from edge.secrets import SecretsFilter, mask_url_passwords
from tests.test_settings import PRODUCTION_ENV, run_manage

DB_PASSWORD = "db-pass-7f3a9c"
REDIS_PASSWORD = "redis-pass-41be02"
DATABASE_URL = f"postgres://todo:{DB_PASSWORD}@db.internal:5432/todo"
REDIS_URL = f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (DATABASE_URL, "postgres://todo:********************@db.internal:5432/todo"),
        (REDIS_URL, "redis://:********************@redis.internal:6379/0"),
        ("rediss://todo:a%40b@r:6380/0", "rediss://todo:********************@r:6380/0"),
        ("redis://todo:p@ss@r:6379/0", "redis://todo:********************@r:6379/0"),
        ("postgres://postgres@127.0.0.1:5432/todo", "postgres://postgres@127.0.0.1:5432/todo"),
        ("https://app.example.com/api/auth/jwks", "https://app.example.com/api/auth/jwks"),
        ("see redis://:x@h/0 and postgres://u:y@h/d", "see redis://:" + "*" * 20 + "@h/0 and "
         "postgres://u:" + "*" * 20 + "@h/d"),
    ],
)  # fmt: skip
def test_mask_url_passwords(url: str, masked: str) -> None:
    assert mask_url_passwords(url) == masked


def error_page(settings: Any, *, text: bool = False) -> str:
    """Django's DEBUG 500 page for an error raised where a local variable holds the URL."""
    settings.DEBUG = True
    settings.DATABASE_URL = DATABASE_URL
    settings.REDIS_URL = REDIS_URL
    settings.SOME_SERVICE = {"LOCATION": REDIS_URL, "OPTIONS": {"dsn": DATABASE_URL}}
    request = RequestFactory().get("/api/boom", DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL)

    def connect(url: str) -> None:
        raise RuntimeError("cannot connect")

    try:
        connect(DATABASE_URL)
    except RuntimeError:
        exc_info = sys.exc_info()
    if text:
        return debug.ExceptionReporter(request, *exc_info).get_traceback_text()
    return debug.technical_500_response(request, *exc_info).content.decode()


@pytest.mark.parametrize("text", [False, True], ids=["html", "text"])
def test_debug_error_page_masks_url_passwords(settings: Any, text: bool) -> None:
    page = error_page(settings, text=text)
    assert "db.internal:5432" in page  # the settings are shown...
    assert "redis.internal:6379" in page
    assert DB_PASSWORD not in page  # ...without their passwords
    assert REDIS_PASSWORD not in page


def test_the_filter_is_the_default_one(settings: Any) -> None:
    assert isinstance(debug.get_default_exception_reporter_filter(), SecretsFilter)
    settings.DEBUG = True
    cleansed = SecretsFilter().get_safe_settings()
    assert DB_PASSWORD not in json.dumps(cleansed, default=str)
    assert cleansed["DEFAULT_EXCEPTION_REPORTER_FILTER"] == "edge.secrets.SecretsFilter"


def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "production.env"
    path.write_text(
        f"DATABASE_URL={DATABASE_URL}\n"
        "BETTER_AUTH_SECRET=file-secret-value-0123456789abcdef\n"
        "CORS_ALLOWED_ORIGINS=https://from-the-file.example.com\n"
    )
    return path


def test_a_production_start_that_reads_an_env_file_says_which_file_and_names(
    tmp_path: Path,
) -> None:
    path = env_file(tmp_path)
    result = run_manage("check", **{**PRODUCTION_ENV, "DJANGO_ENV_FILE": str(path)})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if str(path) in line]
    assert len(lines) == 1, result.stderr
    line = json.loads(lines[0])  # production logs are JSON lines
    assert line["level"] == "warning"
    assert line["logger"] == "todo_project.settings"
    # The names the file set; CORS_ALLOWED_ORIGINS came from the real environment, which wins.
    assert "BETTER_AUTH_SECRET, DATABASE_URL taken from it" in line["event"]
    assert "CORS_ALLOWED_ORIGINS" not in line["event"]
    for value in (DB_PASSWORD, "file-secret-value", "from-the-file"):
        assert value not in result.stderr + result.stdout


def test_debug_and_no_file_starts_say_nothing(tmp_path: Path) -> None:
    path = env_file(tmp_path)
    debug_run = run_manage("check", DJANGO_ENV_FILE=str(path), DJANGO_DEBUG="1")
    assert debug_run.returncode == 0, debug_run.stderr
    assert str(path) not in debug_run.stderr
    production = run_manage("check", **PRODUCTION_ENV)  # DJANGO_ENV_FILE=/dev/null
    assert production.returncode == 0, production.stderr
    assert "settings read" not in production.stderr
