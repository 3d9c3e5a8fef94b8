"""Request and response shapes of the tasks API; the input rules of CONTRACT §4 live here."""

import datetime
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from tasks.fields import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, Priority

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_OFFSET = 2**31 - 1  # far beyond any list, far below what SQL OFFSET can hold
SEARCH_MAX_LENGTH = DESCRIPTION_MAX_LENGTH
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _storable_text(value: str) -> str:
    # PostgreSQL refuses NUL in text; letting it through would be a 500, not a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _iso_date_or_none(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` (or null): pydantic alone would also take timestamps and datetimes."""
    if value is None or type(value) is datetime.date:
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be an ISO date (YYYY-MM-DD) or null")


def _utc_timestamp(value: datetime.datetime) -> str:
    # isoformat, not strftime: a third cheaper, and it pads years before 1000 to four digits
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")[:-6] + "Z"


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_storable_text),
]
Description = Annotated[
    str, StringConstraints(max_length=DESCRIPTION_MAX_LENGTH), AfterValidator(_storable_text)
]
DueDate = Annotated[
    datetime.date | None,
    BeforeValidator(_iso_date_or_none),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}),
]
SearchText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=SEARCH_MAX_LENGTH),
    AfterValidator(_storable_text),
]
# Six fractional digits and "Z", whatever the database's precision (CONTRACT §4 example).
Timestamp = Annotated[
    datetime.datetime,
    PlainSerializer(_utc_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Ordering = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "title", "-title",
    "due_date", "-due_date", "priority", "-priority",
]  # fmt: skip


class TaskIn(Schema):
    """POST body. Server-owned fields (id, user_id, timestamps) are not read from it."""

    title: Title
    description: Description = ""
    priority: Priority = Priority.MEDIUM
    due_date: DueDate = None


class TaskReplaceIn(TaskIn):
    """PUT body: every field omitted returns to its default."""

    completed: StrictBool = False


class TaskPatch(Schema):
    """PATCH body: only the fields sent change; ``due_date`` alone may be null."""

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None
    priority: Priority | None = None
    due_date: DueDate = None

    @field_validator("title", "description", "completed", "priority", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class CompleteIn(Schema):
    """Body of PATCH …/complete: ``completed`` sets the state; no body (or no field) toggles."""

    completed: StrictBool | None = None


class TaskOut(Schema):
    id: int
    title: str
    description: str
    completed: bool
    priority: Priority
    due_date: datetime.date | None
    created_at: Timestamp
    updated_at: Timestamp


def task_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """TaskOut's JSON form from a ``values()`` row, without pydantic: the list's hot path.

    Twenty rows through TaskOut's validation cost more than the query that read them;
    tests/tasks/test_schemas.py checks this agrees with TaskOut field for field.
    """
    due_date = row["due_date"]
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "completed": row["completed"],
        "priority": row["priority"],
        "due_date": None if due_date is None else due_date.isoformat(),
        "created_at": _utc_timestamp(row["created_at"]),
        "updated_at": _utc_timestamp(row["updated_at"]),
    }


class PagedTaskOut(Schema):
    """One page of tasks and ``count``, the number of all tasks that match the filters."""

    # Documents the answer only: list_tasks builds the JSON itself with task_json.

    items: list[TaskOut]
    count: int


class TaskFilters(Schema):
    status: Literal["all", "pending", "completed"] = "all"
    priority: Priority | None = None
    due_before: DueDate = Field(None, description="Inclusive.")
    due_after: DueDate = Field(None, description="Inclusive.")
    q: SearchText | None = Field(None, description="Searched in title and description.")
    ordering: Ordering = Field(
        "-created_at", description="Tasks without a due date sort last either way."
    )


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ClearedOut(Schema):
    deleted: int


class ErasedOut(Schema):
    """What ``DELETE /api/{user_id}/account`` erased: how many rows of each kind."""

    tasks: int = Field(description="Tasks deleted.")
    idempotency_records: int = Field(description="Stored answers to retried creates deleted.")
