"""A read-only database (failover), a statement timeout and a locked SQLite database answer
503 + Retry-After, never 500 (a locked database end to end: tests/tasks/test_task_cap_sqlite.py).
"""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg.errors
import pytest
from django.db import InternalError, OperationalError, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory

from edge.errors import (
    DATABASE_BUSY,
    DATABASE_READ_ONLY,
    DATABASE_TOO_SLOW,
    DATABASE_UNAVAILABLE,
    error_body,
    respond,
)
from tests.ops.test_metrics import sample
from todo_project.api import api


def error_response(exc: Exception) -> HttpResponse:
    """What the API answers for ``exc`` when no more specific handler takes it."""
    return respond(api, RequestFactory().get("/api/x"), error_body(exc))


def wrapped(django_error: type[Exception], cause: Exception) -> Exception:
    """What Django raises: its own class, the driver's error as ``__cause__``."""
    exc = django_error(str(cause))
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        pytest.param(
            wrapped(InternalError, psycopg.errors.ReadOnlySqlTransaction("read-only")),
            DATABASE_READ_ONLY,
            id="read-only-25006",
        ),
        pytest.param(
            wrapped(OperationalError, psycopg.errors.QueryCanceled("statement timeout")),
            DATABASE_TOO_SLOW,
            id="statement-timeout-57014",
        ),
        pytest.param(
            wrapped(OperationalError, psycopg.errors.AdminShutdown("terminating connection")),
            DATABASE_UNAVAILABLE,
            id="admin-shutdown",
        ),
    ],
)
def test_database_faults_answer_503_with_retry_after(exc: Exception, detail: str) -> None:
    response = error_response(exc)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.content == f'{{"detail": "{detail}"}}'.encode()


def sqlite_locked_error(path: Path) -> sqlite3.OperationalError:
    """The real "database is locked": a second writer while the first holds the lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.close()
        waiter.close()
    raise AssertionError("the second writer got the lock")


def test_a_locked_sqlite_database_answers_503_busy(tmp_path: Path) -> None:
    cause = sqlite_locked_error(tmp_path / "db.sqlite3")
    assert str(cause) == "database is locked"
    before = sample("database_errors_total", kind="busy")
    response = error_response(wrapped(OperationalError, cause))
    assert sample("database_errors_total", kind="busy") == before + 1
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.content == f'{{"detail": "{DATABASE_BUSY}"}}'.encode()


def test_other_internal_errors_stay_500() -> None:
    exc = wrapped(InternalError, psycopg.errors.InFailedSqlTransaction("aborted"))
    assert error_response(exc).status_code == 500


@pytest.fixture
def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: read-only sessions and statement_timeout are its own")


@pytest.fixture
def read_only_session(postgres_only: None) -> Iterator[None]:
    """This connection's next transactions are read-only, as on a standby mid-failover."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    yield
    connection.close()  # whatever the test left, the next one starts from a fresh session


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("read_only_session")
def test_read_only_database_answers_503_and_ready_reports_it(
    client: Client, auth_headers: Any
) -> None:
    ready = client.get("/api/ready")
    assert ready.status_code == 503
    assert ready.json() == {"detail": DATABASE_READ_ONLY}
    assert ready["Retry-After"] == "5"
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
    created = client.post(
        "/api/ann/tasks", {"title": "x"}, content_type="application/json", **auth_headers("ann")
    )
    assert created.status_code == 503
    assert created.json() == {"detail": DATABASE_READ_ONLY}
    assert created["Retry-After"] == "5"
    # The read-only connection was dropped: the next request gets a fresh, writable one.
    assert client.get("/api/ready").status_code == 200
    retried = client.post(
        "/api/ann/tasks", {"title": "x"}, content_type="application/json", **auth_headers("ann")
    )
    assert retried.status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.usefixtures("postgres_only")
def test_statement_timeout_is_on_every_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("10s",)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_a_statement_past_the_timeout_answers_503(client: Client, auth_headers: Any) -> None:
    def slow(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        execute("SELECT pg_sleep(2)", None, False, context)  # stands for a heavy query
        return execute(sql, params, many, context)

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 50")
    try:
        with connection.execute_wrapper(slow):
            response = client.get("/api/ann/tasks", **auth_headers("ann"))
    finally:
        connection.close()
    assert response.status_code == 503
    assert response.json() == {"detail": DATABASE_TOO_SLOW}
    assert response["Retry-After"] == "5"
