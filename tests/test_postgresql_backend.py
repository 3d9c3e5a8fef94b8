"""edge.postgresql: Django's PostgreSQL backend reading timestamps with psycopg's own loader.

The answers must be exactly Django's (aware, in ``datetime.UTC``); only the loader differs.
"""

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tasks.models import Task

pytestmark = pytest.mark.django_db
POSTGRESQL_ONLY = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "edge.postgresql",
    reason="the PostgreSQL backend only (DATABASE_URL=postgres://…)",
)

TIMESTAMPS = (
    "'0001-01-01 00:00:00+00'",
    "'1999-12-31 23:59:59.999999+00'",
    "'2026-12-07 12:00:00.5+05:30'",
    "'2026-03-29 01:30:00-09:30'",
    "now()",
    "'9999-12-31 23:59:59.999999+00'",
)
SELECT = "SELECT " + ", ".join(f"{value}::timestamptz" for value in TIMESTAMPS)


@pytest.mark.postgres
@POSTGRESQL_ONLY
def test_timestamps_are_read_by_psycopgs_loader_not_djangos() -> None:
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader  # type: ignore[import-untyped]
    from psycopg import adapters
    from psycopg.pq import Format

    oid = adapters.types["timestamptz"].oid
    with connection.cursor() as cursor:
        registered = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
        loader = registered(oid, cursor.cursor)
    assert not isinstance(loader, BaseTzLoader)
    assert type(loader) is adapters.get_loader(oid, Format.TEXT)  # the C one with psycopg-binary


@pytest.mark.postgres
@POSTGRESQL_ONLY
def test_timestamps_are_djangos_answers_exactly() -> None:
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    with connection.cursor() as cursor:
        cursor.execute(SELECT)
        ours = cursor.fetchone()
        register_tzloader(datetime.UTC, cursor.cursor)  # Django's own loader, on this cursor only
        cursor.execute(SELECT.replace("now()", repr(ours[4].isoformat())))
        djangos = cursor.fetchone()
    assert ours == djangos
    assert all(value.tzinfo is datetime.UTC for value in (*ours, *djangos))


@pytest.mark.postgres
@POSTGRESQL_ONLY
def test_models_and_values_get_utc_datetimes() -> None:
    task = Task(user_id="u1", title="t")
    task.save()
    read = Task.objects.for_user("u1").get(pk=task.pk)
    (row,) = Task.objects.for_user("u1").values("created_at", "updated_at")
    streamed = list(Task.objects.for_user("u1").values_list("created_at", flat=True).iterator())
    assert read.created_at == task.created_at
    assert read.created_at.tzinfo is datetime.UTC
    assert row["created_at"] == task.created_at
    assert row["updated_at"].tzinfo is datetime.UTC
    assert streamed == [task.created_at]
    assert streamed[0].tzinfo is datetime.UTC


@pytest.mark.parametrize(
    ("use_tz", "time_zone", "psycopgs"),
    [(True, None, True), (True, "Europe/Paris", False), (False, None, False)],
)
def test_psycopgs_loader_only_where_the_session_is_in_utc(
    use_tz: bool, time_zone: str | None, psycopgs: bool
) -> None:
    """Another session time zone, or naive datetimes: Django's own loader stays."""
    from psycopg import adapters
    from psycopg.pq import Format

    from edge.postgresql.base import DatabaseWrapper, UTCTimestamptzLoader

    database: dict[str, Any] = {
        "NAME": "todo", "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "OPTIONS": {},
        "TIME_ZONE": time_zone, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "TEST": {},
    }  # fmt: skip
    with override_settings(USE_TZ=use_tz):
        context = DatabaseWrapper(database).get_connection_params()["context"]
    loader = context.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    assert (loader is UTCTimestamptzLoader) is psycopgs
