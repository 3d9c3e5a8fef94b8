"""GET and DELETE on the collection: filters, search, ordering, pagination, "clear completed"."""

from typing import Any

import pytest

from tests.tasks.conftest import TasksApi

pytestmark = pytest.mark.django_db


def listed(api: TasksApi, **query: Any) -> list[str]:
    response = api.call("GET", api.url(**query))
    assert response.status_code == 200, response.content
    return [task["title"] for task in response.json()["items"]]


@pytest.fixture
def board(api: TasksApi) -> TasksApi:
    """Five tasks, created in this order."""
    for fields in (
        {"title": "Buy milk", "priority": "low", "due_date": "2026-01-10"},
        {"title": "pay rent", "priority": "high", "due_date": "2026-01-01"},
        {"title": "Call mum", "description": "about the MILK order"},
        {"title": "write report", "priority": "high", "due_date": "2026-02-01"},
        {"title": "Archive", "priority": "medium", "due_date": "2026-01-10"},
    ):
        api.create(**fields)
    for task in api.call("GET", api.url(q="rent")).json()["items"]:
        api.call("PATCH", api.url(task["id"], "/complete"))
    return api


def test_envelope_and_default_order_newest_first(board: TasksApi) -> None:
    body = board.call("GET", board.url()).json()
    assert list(body) == ["items", "count"]
    assert body["count"] == 5
    assert [t["title"] for t in body["items"]] == [
        "Archive", "write report", "Call mum", "pay rent", "Buy milk",
    ]  # fmt: skip


def test_empty_list(api: TasksApi) -> None:
    assert api.call("GET", api.url()).json() == {"items": [], "count": 0}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"status": "all"}, 5, id="all"),
        pytest.param({"status": "completed"}, ["pay rent"], id="completed"),
        pytest.param(
            {"status": "pending", "priority": "high"}, ["write report"], id="pending-high"
        ),
        pytest.param({"priority": "low"}, ["Buy milk"], id="priority"),
        pytest.param({"q": "milk"}, ["Call mum", "Buy milk"], id="q-title-or-description"),
        pytest.param({"q": "  MILK "}, ["Call mum", "Buy milk"], id="q-trimmed-any-case"),
        pytest.param({"q": ""}, 5, id="q-empty-is-no-filter"),
        pytest.param({"q": "nothing like it"}, [], id="q-no-match"),
        pytest.param(
            {"due_after": "2026-01-10"}, ["Archive", "write report", "Buy milk"], id="after"
        ),
        pytest.param(
            {"due_before": "2026-01-10"}, ["Archive", "pay rent", "Buy milk"], id="before"
        ),
        pytest.param(
            {"due_after": "2026-01-02", "due_before": "2026-01-10", "ordering": "title"},
            ["Archive", "Buy milk"],
            id="date-range-inclusive",
        ),
        pytest.param(
            {"q": "i", "status": "pending", "due_before": "2026-12-31", "ordering": "-due_date"},
            ["write report", "Archive", "Buy milk"],
            id="combined",
        ),
    ],
)
def test_filters(board: TasksApi, query: dict[str, str], expected: list[str] | int) -> None:
    titles = listed(board, **query)
    if isinstance(expected, int):
        assert len(titles) == expected
    else:
        assert titles == expected
        assert board.call("GET", board.url(**query)).json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("created_at", ["Buy milk", "pay rent", "Call mum", "write report", "Archive"]),
        ("title", ["Archive", "Buy milk", "Call mum", "pay rent", "write report"]),
        ("-title", ["write report", "pay rent", "Call mum", "Buy milk", "Archive"]),
        ("priority", ["Buy milk", "Call mum", "Archive", "pay rent", "write report"]),
        ("-priority", ["write report", "pay rent", "Archive", "Call mum", "Buy milk"]),
        ("due_date", ["pay rent", "Buy milk", "Archive", "write report", "Call mum"]),
        ("-due_date", ["write report", "Archive", "Buy milk", "pay rent", "Call mum"]),
        ("-updated_at", ["pay rent", "Archive", "write report", "Call mum", "Buy milk"]),
    ],
)
def test_ordering(board: TasksApi, ordering: str, expected: list[str]) -> None:
    assert listed(board, ordering=ordering) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param({"status": "done"}, "status", id="status"),
        pytest.param({"priority": "urgent"}, "priority", id="priority"),
        pytest.param({"due_before": "tomorrow"}, "due_before", id="due_before-word"),
        pytest.param({"due_before": "01/12/2026"}, "due_before", id="due_before-not-iso"),
        pytest.param({"due_after": "2026-02-30"}, "due_after", id="due_after-no-such-day"),
        pytest.param({"due_after": "2026-13-01"}, "due_after", id="due_after-no-such-month"),
        pytest.param({"ordering": "user_id"}, "ordering", id="ordering-field"),
        pytest.param({"ordering": "--title"}, "ordering", id="ordering-double-minus"),
        pytest.param({"q": "x" * 1001}, "q", id="q-too-long"),
        pytest.param({"q": "\x00"}, "q", id="q-nul"),
        pytest.param({"limit": "0"}, "limit", id="limit-0"),
        pytest.param({"limit": "501"}, "limit", id="limit-501"),
        pytest.param({"limit": "ten"}, "limit", id="limit-text"),
        pytest.param({"offset": "-1"}, "offset", id="offset-negative"),
        pytest.param({"offset": str(2**63)}, "offset", id="offset-huge"),
    ],
)
def test_invalid_queries_are_422_naming_the_parameter(
    api: TasksApi, query: dict[str, str], field: str
) -> None:
    response = api.call("GET", api.url(**query))
    assert response.status_code == 422
    assert [(e["loc"][0], e["loc"][-1]) for e in response.json()["detail"]] == [("query", field)]


def test_limit_and_offset(board: TasksApi) -> None:
    page = board.call("GET", board.url(ordering="title", limit=2, offset=1)).json()
    assert page["count"] == 5
    assert [t["title"] for t in page["items"]] == ["Buy milk", "Call mum"]
    assert listed(board, offset=5) == []
    assert len(listed(board, limit=500)) == 5


def test_default_limit_is_100(api: TasksApi, make_task: Any) -> None:
    for n in range(101):
        make_task(user_id=api.user_id, title=f"t{n}")
    body = api.call("GET", api.url()).json()
    assert (len(body["items"]), body["count"]) == (100, 101)


@pytest.mark.parametrize("ordering", ["priority", "-priority", "due_date", "-due_date", "title"])
def test_pages_never_repeat_or_skip_a_task_when_keys_tie(
    api: TasksApi, make_task: Any, ordering: str
) -> None:
    expected = {make_task(user_id=api.user_id, title="same", priority="high").pk for _ in range(7)}
    seen: list[int] = []
    for offset in range(0, 7, 2):
        items = api.call("GET", api.url(ordering=ordering, limit=2, offset=offset)).json()["items"]
        seen += [task["id"] for task in items]
    assert sorted(seen) == sorted(expected)


class TestClearCompleted:
    def test_deletes_only_completed_tasks(self, board: TasksApi) -> None:
        response = board.call("DELETE", board.url(status="completed"))
        assert (response.status_code, response.json()) == (200, {"deleted": 1})
        assert "pay rent" not in listed(board)
        assert len(listed(board)) == 4
        assert board.call("DELETE", board.url(status="completed")).json() == {"deleted": 0}

    @pytest.mark.parametrize("query", [{}, {"status": "all"}, {"status": "pending"}])
    def test_anything_but_status_completed_is_422(
        self, board: TasksApi, query: dict[str, str]
    ) -> None:
        response = board.call("DELETE", board.url(**query))
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "status"]
        assert len(listed(board)) == 5
