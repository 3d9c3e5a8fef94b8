"""TaskQuerySet reads, the version that feeds the ETag, and the idempotency record's key rule."""

import datetime
from collections.abc import Iterable

import pytest
from django.db import IntegrityError, transaction

from tasks.models import IdempotencyRecord, Priority, Task
from tests.tasks.conftest import TaskFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def titles(tasks: Iterable[Task]) -> list[str]:
    return [task.title for task in tasks]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("all", ["done", "open"]), ("pending", ["open"]), ("completed", ["done"])],
)
def test_with_status(make_task: TaskFactory, status: str, expected: list[str]) -> None:
    make_task(title="open")
    make_task(title="done", completed=True)
    tasks = Task.objects.for_user("user-1").with_status(status).ordered_by("title")
    assert titles(tasks) == expected


def test_search_matches_title_or_description_case_insensitively(make_task: TaskFactory) -> None:
    make_task(title="Buy MILK")
    make_task(title="Report", description="quarterly milk numbers")
    make_task(title="Call mum")
    make_task(user_id="other", title="milk for someone else")
    found = Task.objects.for_user("user-1").search("milk").ordered_by("title")
    assert titles(found) == ["Buy MILK", "Report"]


@pytest.mark.parametrize("text", ["%", "_", "\\"])
def test_search_treats_wildcards_literally(make_task: TaskFactory, text: str) -> None:
    make_task(title="plain")
    make_task(title=f"with {text} inside")
    assert titles(Task.objects.for_user("user-1").search(text)) == [f"with {text} inside"]


@pytest.mark.parametrize(
    ("after", "before", "expected"),
    [
        pytest.param(None, None, ["d1", "d2", "d3", "none"], id="no-bounds"),
        pytest.param(D(2026, 1, 2), None, ["d2", "d3"], id="after-inclusive"),
        pytest.param(None, D(2026, 1, 2), ["d1", "d2"], id="before-inclusive"),
        pytest.param(D(2026, 1, 2), D(2026, 1, 2), ["d2"], id="same-day"),
        pytest.param(D(2026, 1, 3), D(2026, 1, 1), [], id="empty-range"),
    ],
)
def test_due_between(
    make_task: TaskFactory,
    after: datetime.date | None,
    before: datetime.date | None,
    expected: list[str],
) -> None:
    for day in (1, 2, 3):
        make_task(title=f"d{day}", due_date=D(2026, 1, day))
    make_task(title="none")
    tasks = Task.objects.for_user("user-1").due_between(after=after, before=before)
    assert sorted(titles(tasks)) == expected


@pytest.fixture
def spread(make_task: TaskFactory) -> list[Task]:
    """Five tasks created in this order, with duplicates so ties must fall back to the id."""
    return [
        make_task(title="banana", priority=Priority.HIGH, due_date=D(2026, 3, 1)),
        make_task(title="Apple", priority=Priority.LOW),
        make_task(title="cherry", priority=Priority.MEDIUM, due_date=D(2026, 1, 1)),
        make_task(title="apple", priority=Priority.HIGH, due_date=D(2026, 1, 1)),
        make_task(title="date", priority=Priority.LOW),
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("created_at", [0, 1, 2, 3, 4], id="created_at"),
        pytest.param("-created_at", [4, 3, 2, 1, 0], id="-created_at"),
        pytest.param("title", [1, 3, 0, 2, 4], id="title-case-insensitive"),
        pytest.param("-title", [4, 2, 0, 3, 1], id="-title"),
        pytest.param("priority", [1, 4, 2, 0, 3], id="priority-by-rank"),
        pytest.param("-priority", [3, 0, 2, 4, 1], id="-priority"),
        pytest.param("due_date", [2, 3, 0, 1, 4], id="due_date-none-last"),
        pytest.param("-due_date", [0, 3, 2, 4, 1], id="-due_date-none-last"),
    ],
)
def test_ordered_by(spread: list[Task], key: str, expected: list[int]) -> None:
    ordered = Task.objects.for_user("user-1").ordered_by(key)
    assert [task.pk for task in ordered] == [spread[i].pk for i in expected]


def test_ordered_by_updated_at(spread: list[Task]) -> None:
    spread[2].title = "cherry pie"
    spread[2].save()
    ordered = list(Task.objects.for_user("user-1").ordered_by("-updated_at"))
    assert ordered[0].pk == spread[2].pk


def test_ordered_by_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown ordering"):
        Task.objects.for_user("user-1").ordered_by("user_id")


def test_version_starts_at_one_and_every_save_bumps_it(make_task: TaskFactory) -> None:
    task = make_task()
    assert task.version == 1
    task.title = "changed"
    task.save()
    task.refresh_from_db()
    assert task.version == 2


def test_idempotency_keys_are_unique_per_user_only() -> None:
    def record(user_id: str) -> None:
        IdempotencyRecord(
            user_id=user_id, key="k", request_hash="h", task_id=1, snapshot={}, etag='"1-1"'
        ).save()

    record("ann")
    record("bob")
    with pytest.raises(IntegrityError), transaction.atomic():
        record("ann")


@pytest.mark.parametrize("user_id", ["", None])
def test_idempotency_records_need_a_user(user_id: str | None) -> None:
    with pytest.raises(ValueError, match="user id is required"):
        IdempotencyRecord.objects.for_user(user_id)  # type: ignore[arg-type]
