"""The database itself rejects rows the API would refuse (both SQLite and PostgreSQL)."""

from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from tasks.models import Task

pytestmark = pytest.mark.django_db


def save(**fields: Any) -> Task:
    task = Task(user_id=fields.pop("user_id", "user-1"), **fields)
    with transaction.atomic():
        task.save()
    return task


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        pytest.param({"title": ""}, "task_title_not_blank", id="empty-title"),
        pytest.param({"title": "   "}, "task_title_not_blank", id="blank-title"),
        pytest.param({"title": "x" * 201}, "task_title_max_length", id="title-201"),
        pytest.param(
            {"title": "ok", "description": "d" * 1001},
            "task_description_max_length",
            id="description-1001",
        ),
        pytest.param({"title": "ok", "priority": "urgent"}, "task_priority_valid", id="priority"),
        pytest.param({"title": "ok", "user_id": ""}, "task_user_id_not_blank", id="empty-user-id"),
    ],
)
def test_database_rejects_invalid_rows(fields: dict[str, object], constraint: str) -> None:
    expected: type[Exception] = IntegrityError
    match = constraint  # SQLite and PostgreSQL both name the CHECK that failed
    if connection.vendor == "postgresql" and constraint.endswith("_max_length"):
        # PostgreSQL's varchar refuses an over-long value itself, before the CHECK runs.
        expected, match = DataError, "value too long for type character varying"
    with pytest.raises(expected, match=match):
        save(**fields)


def test_update_that_bypasses_save_is_rejected_too() -> None:
    task = save(title="fine")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.for_user("user-1").filter(pk=task.pk).update(title="")


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"title": "x"}, id="title-1"),
        pytest.param({"title": "x" * 200}, id="title-200"),
        pytest.param({"title": "ok", "description": "d" * 1000}, id="description-1000"),
        pytest.param({"title": "ok", "priority": "high"}, id="priority-high"),
        pytest.param({"title": "ok", "user_id": "u" * 255}, id="user-id-255"),
    ],
)
def test_database_accepts_rows_at_the_limits(fields: dict[str, object]) -> None:
    task = save(**fields)
    assert Task.objects.for_user(task.user_id).get(pk=task.pk).title == fields["title"]


def test_save_strips_the_title() -> None:
    task = save(title="  Buy milk \n")
    assert task.title == "Buy milk"


def test_for_user_never_returns_another_users_rows() -> None:
    mine = save(user_id="ann", title="mine")
    save(user_id="bob", title="theirs")
    save(user_id="ann-2", title="prefix lookalike")
    assert list(Task.objects.for_user("ann").values_list("pk", flat=True)) == [mine.pk]
    assert Task.objects.for_user("ann").filter(title="theirs").count() == 0


@pytest.mark.parametrize("user_id", ["", None])
def test_for_user_refuses_a_missing_user_id(user_id: str | None) -> None:
    with pytest.raises(ValueError, match="user id is required"):
        Task.objects.for_user(user_id)  # type: ignore[arg-type]
