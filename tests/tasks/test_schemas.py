"""Input rules of CONTRACT §4 at their boundaries, and the exact output format of a Task."""

import datetime
from typing import Any

import pydantic
import pytest

from tasks.schemas import CompleteIn, TaskFilters, TaskIn, TaskOut, TaskPatch, TaskReplaceIn


def error_fields(schema: type[pydantic.BaseModel], data: dict[str, Any]) -> list[Any]:
    with pytest.raises(pydantic.ValidationError) as info:
        schema.model_validate(data)
    return [error["loc"][0] for error in info.value.errors()]


@pytest.mark.parametrize(
    ("title", "stored"),
    [
        pytest.param("x", "x", id="1-char"),
        pytest.param("x" * 200, "x" * 200, id="200-chars"),
        pytest.param("  Buy milk \n", "Buy milk", id="stripped"),
        pytest.param(" " + "x" * 200 + " ", "x" * 200, id="200-after-stripping"),
        pytest.param("é" * 200, "é" * 200, id="200-non-ascii"),
    ],
)
def test_title_accepted(title: str, stored: str) -> None:
    assert TaskIn.model_validate({"title": title}).title == stored


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("", id="empty"),
        pytest.param("   \t\n", id="whitespace-only"),
        pytest.param("x" * 201, id="201-chars"),
        pytest.param(None, id="null"),
        pytest.param(17, id="number"),
        pytest.param("a\x00b", id="nul-character"),
    ],
)
def test_title_rejected(title: Any) -> None:
    assert error_fields(TaskIn, {"title": title}) == ["title"]


def test_title_is_required() -> None:
    assert error_fields(TaskIn, {"description": "no title"}) == ["title"]


def test_defaults() -> None:
    task = TaskIn.model_validate({"title": "t"})
    assert task.model_dump() == {
        "title": "t",
        "description": "",
        "priority": "medium",
        "due_date": None,
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"description": "d" * 1001}, "description", id="description-1001"),
        pytest.param({"description": None}, "description", id="description-null"),
        pytest.param({"priority": "urgent"}, "priority", id="priority-unknown"),
        pytest.param({"priority": "HIGH"}, "priority", id="priority-case"),
        pytest.param({"due_date": "2026-02-30"}, "due_date", id="date-impossible"),
        pytest.param({"due_date": "2026-12-01T00:00:00"}, "due_date", id="date-with-time"),
        pytest.param({"due_date": "20261201"}, "due_date", id="date-basic-format"),
        pytest.param({"due_date": 0}, "due_date", id="date-timestamp"),
        pytest.param({"due_date": "tomorrow"}, "due_date", id="date-words"),
    ],
)
def test_other_fields_rejected(data: dict[str, Any], field: str) -> None:
    assert error_fields(TaskIn, {"title": "t", **data}) == [field]


def test_limits_accepted() -> None:
    task = TaskIn.model_validate(
        {"title": "t", "description": "d" * 1000, "priority": "high", "due_date": "2026-12-01"}
    )
    assert (len(task.description), task.priority, task.due_date) == (
        1000,
        "high",
        datetime.date(2026, 12, 1),
    )


def test_server_owned_and_unknown_fields_are_ignored() -> None:
    data = {"title": "t", "id": 5, "user_id": "mallory", "created_at": "2000-01-01", "x": 1}
    assert set(TaskIn.model_validate(data).model_dump()) == {
        "title",
        "description",
        "priority",
        "due_date",
    }


def test_create_ignores_completed_but_replace_reads_it() -> None:
    assert "completed" not in TaskIn.model_validate({"title": "t", "completed": True}).model_dump()
    assert TaskReplaceIn.model_validate({"title": "t"}).completed is False
    assert TaskReplaceIn.model_validate({"title": "t", "completed": True}).completed is True


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_completed_must_be_a_json_boolean(value: Any) -> None:
    assert error_fields(TaskReplaceIn, {"title": "t", "completed": value}) == ["completed"]
    assert error_fields(CompleteIn, {"completed": value}) == ["completed"]


def test_patch_keeps_only_the_fields_sent() -> None:
    patch = TaskPatch.model_validate({"due_date": None, "title": " new "})
    assert patch.model_dump(exclude_unset=True) == {"due_date": None, "title": "new"}


@pytest.mark.parametrize("field", ["title", "description", "completed", "priority"])
def test_patch_refuses_null_for_non_nullable_fields(field: str) -> None:
    assert error_fields(TaskPatch, {field: None}) == [field]


def test_task_out_formats_timestamps_in_utc_with_microseconds() -> None:
    stamp = datetime.datetime(2026, 11, 22, 20, 56, 55, 892000, tzinfo=datetime.UTC)
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    out = TaskOut(
        id=17,
        title="Buy milk",
        description="",
        completed=False,
        priority="medium",  # type: ignore[arg-type]
        due_date=None,
        created_at=stamp,
        updated_at=datetime.datetime(2026, 11, 22, 22, 0, tzinfo=plus_two),
    )
    assert out.model_dump(mode="json") == {
        "id": 17,
        "title": "Buy milk",
        "description": "",
        "completed": False,
        "priority": "medium",
        "due_date": None,
        "created_at": "2026-11-22T20:56:55.892000Z",
        "updated_at": "2026-11-22T20:00:00.000000Z",
    }


# Rejected filters are tabled once, over HTTP: test_api_list.py (422 naming the parameter).


def test_filters_defaults_and_stripped_search() -> None:
    filters = TaskFilters.model_validate({"q": "  milk "})
    assert (filters.status, filters.ordering, filters.q) == ("all", "-created_at", "milk")
