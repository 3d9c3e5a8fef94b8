"""Query counts per request, token verification included (it runs none: CONTRACT §2.7)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tasks.conftest import SUCCESS_STATUS, TasksApi

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(api: TasksApi) -> dict[str, Any]:
    for n in range(3):
        api.create(title=f"other {n}", due_date="2029-01-01")
    return api.create(title="target")


@pytest.mark.parametrize(
    ("method", "suffix", "body", "queries"),
    [
        pytest.param("GET", "", None, 1, id="get"),
        # One UPDATE … RETURNING answers with the row; no second read.
        pytest.param("PATCH", "/complete", None, 1, id="toggle"),
        pytest.param("PATCH", "/complete", {"completed": True}, 1, id="set-completed"),
        pytest.param("PATCH", "", {"title": "new"}, 1, id="patch"),
        pytest.param("PUT", "", {"title": "new"}, 1, id="put"),
        # The task, then the idempotency records of the user's deleted tasks.
        pytest.param("DELETE", "", None, 2, id="delete"),
    ],
)
def test_one_task(
    api: TasksApi,
    task: dict[str, Any],
    django_assert_num_queries: Any,
    method: str,
    suffix: str,
    body: Any,
    queries: int,
) -> None:
    with django_assert_num_queries(queries):
        response = api.call(method, api.url(task["id"], suffix), body)
    assert response.status_code == SUCCESS_STATUS[method]


def test_create(api: TasksApi, django_assert_num_queries: Any) -> None:
    # The create's transaction (a savepoint inside the test's: SAVEPOINT, RELEASE), the user's
    # lock (PostgreSQL only; on SQLite the transaction is the lock), the erased-user check, the
    # TASKS_PER_USER_MAX check (is there a cap-th task?), the insert. Outside a test: BEGIN ...
    # COMMIT (tasks.limits). The two checks stay two statements: docs/PERFORMANCE.md, round two:
    # the write paths.
    lock = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(2 + lock + 3):
        assert api.call("POST", api.url(), {"title": "t"}).status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({}, id="default"),
        pytest.param(
            {
                "status": "pending",
                "priority": "medium",
                "q": "o",
                "due_before": "2030-01-01",
                "ordering": "priority",
                "limit": 2,
                "offset": 1,
            },
            id="every-filter",
        ),
    ],
)
def test_list_is_one_query_page_and_count_together(
    api: TasksApi, task: dict[str, Any], django_assert_num_queries: Any, query: dict[str, Any]
) -> None:
    with django_assert_num_queries(1):
        response = api.call("GET", api.url(**query))
    assert response.status_code == 200
    assert response.json()["items"]


def test_a_page_past_the_end_counts_separately(
    api: TasksApi, task: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        response = api.call("GET", api.url(offset=10))
    assert response.json() == {"items": [], "count": 4}


def test_clear_completed(
    api: TasksApi, task: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        assert api.call("DELETE", api.url(status="completed")).status_code == 200


def test_refusals_touch_no_database(
    api: TasksApi, task: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert api.call("GET", api.url(), HTTP_AUTHORIZATION="").status_code == 401
        assert api.call("GET", f"/api/someone-else/tasks/{task['id']}").status_code == 403


ORDERINGS = ("created_at", "updated_at", "title", "due_date", "priority")


@pytest.mark.parametrize("status", ["all", "pending", "completed"])
@pytest.mark.parametrize("ordering", [*ORDERINGS, *(f"-{name}" for name in ORDERINGS)])
def test_every_list_page_is_one_statement(
    api: TasksApi, task: dict[str, Any], status: str, ordering: str
) -> None:
    """No filter or ordering makes a read pay another round trip (issue 21)."""
    api.call("PATCH", api.url(task["id"], "/complete"))  # one completed task, three pending
    with CaptureQueriesContext(connection) as statements:
        response = api.call("GET", api.url(status=status, ordering=ordering, limit=2))
    assert response.status_code == 200
    assert response.json()["items"]
    assert len(statements) == 1, [s["sql"] for s in statements]


def test_read_routes_pin_their_statements(api: TasksApi, task: dict[str, Any]) -> None:
    """Each read route's statements, pinned: a read that gains a round trip fails here.

    The connection health check (CONN_HEALTH_CHECKS, PostgreSQL) is not among them: it pings
    on the driver's own cursor, once per request, before the first of these.
    """
    reads = {
        "/api/health": 0,
        "/api/me": 0,
        api.url(task["id"]): 1,
        api.url(10**12): 1,  # a miss costs the same one statement: 404
        api.url(): 1,
        api.url(q="target", priority="medium", due_after="2000-01-01", limit=1): 1,
    }
    for path, expected in reads.items():
        with CaptureQueriesContext(connection) as statements:
            response = api.call("GET", path)
        assert response.status_code in (200, 404), (path, response.content)
        assert len(statements) == expected, (path, [s["sql"] for s in statements])
