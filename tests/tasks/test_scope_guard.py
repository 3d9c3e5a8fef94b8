"""The connection guard every API test runs under: precise about what counts as a user scope."""
# ruff: noqa: S608  # the SQL strings here are parser input for the guard, never executed

from typing import Any

import pytest
from django.db import connection

from tasks import api as tasks_api
from tasks.models import Task
from tests.tasks.conftest import TasksApi
from tests.tasks.scope_guard import UnscopedStatement, require_user_scope, unscoped_tables

T = '"tasks_task"'
R = '"tasks_idempotencyrecord"'


@pytest.mark.parametrize(
    ("sql", "offenders"),
    [
        pytest.param(f'SELECT {T}."id" FROM {T} WHERE {T}."user_id" = %s', set(), id="select"),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE ({T}."user_id" = %s AND {T}."id" = %s) LIMIT 1',
            set(), id="select-and-limit",
        ),
        pytest.param(f'SELECT 1 FROM {T} WHERE {T}."user_id" IN (%s, %s)', set(), id="in-params"),
        pytest.param(
            f'UPDATE {T} SET "completed" = CASE WHEN ("completed") THEN %s ELSE %s END '
            f'WHERE ({T}."user_id" = %s AND {T}."id" = %s) RETURNING {T}."id"',
            set(), id="update-returning",
        ),
        pytest.param(f'INSERT INTO {T} ("user_id", "title") VALUES (%s, %s)', set(), id="insert"),
        pytest.param(
            f'DELETE FROM {R} WHERE ({R}."user_id" = %s AND NOT ({R}."task_id" IN '
            f'(SELECT U0."id" FROM {T} U0 WHERE U0."user_id" = %s)))',
            set(), id="delete-with-scoped-subquery",
        ),
        pytest.param('SELECT 1 FROM "auth_user"', set(), id="other-table"),
        pytest.param(f'SELECT {T}."user_id" FROM {T}', {"tasks_task"}, id="user_id-only-selected"),
        pytest.param(f'SELECT 1 FROM {T} WHERE {T}."id" = %s', {"tasks_task"}, id="no-user"),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE {T}."user_id" = %s OR {T}."id" = %s',
            {"tasks_task"}, id="or",
        ),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE NOT ({T}."user_id" = %s)', {"tasks_task"}, id="not",
        ),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE {T}."user_id" <> %s', {"tasks_task"}, id="not-equal",
        ),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE {T}."user_id" = {T}."title"', {"tasks_task"}, id="column",
        ),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE {T}."user_id" IN (SELECT "x" FROM "y")',
            {"tasks_task"}, id="in-subquery",
        ),
        pytest.param(
            f"SELECT 1 FROM {T} WHERE {T}.\"title\" = 'a) WHERE \"user_id\" = %s'",
            {"tasks_task"}, id="inside-a-literal",
        ),
        pytest.param(
            f'SELECT 1 FROM {T} WHERE {T}."id" = %s ORDER BY {T}."user_id" = %s',
            {"tasks_task"}, id="in-order-by",
        ),
        pytest.param(
            f'DELETE FROM {R} WHERE ({R}."user_id" = %s AND {R}."task_id" IN '
            f'(SELECT U0."id" FROM {T} U0))',
            {"tasks_task"}, id="unscoped-subquery",
        ),
        pytest.param(f'INSERT INTO {R} ("key") VALUES (%s)', {"tasks_idempotencyrecord"}, id="ins"),
        pytest.param(f"DELETE FROM {T}", {"tasks_task"}, id="delete-all"),
    ],
)  # fmt: skip
def test_what_counts_as_a_user_scope(sql: str, offenders: set[str]) -> None:
    assert unscoped_tables(sql) == offenders


@pytest.mark.django_db
def test_the_guard_stops_the_statement_before_the_database() -> None:
    Task(user_id="ann", title="t").save()
    with connection.execute_wrapper(require_user_scope):
        assert Task.objects.for_user("ann").count() == 1
        with pytest.raises(UnscopedStatement, match="tasks_task"):
            Task.unscoped.count()


@pytest.mark.django_db
def test_a_route_that_forgets_the_user_fails_its_tests(
    api: TasksApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a handler ever queried without the scope, every API test calling it would fail."""
    api.create()

    def every_users_tasks(request: Any) -> Any:
        return Task.unscoped.all()

    monkeypatch.setattr(tasks_api, "user_tasks", every_users_tasks)
    with pytest.raises(UnscopedStatement):
        api.call("GET", api.url())
