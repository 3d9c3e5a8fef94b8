"""How rows are reached: the user-scoped managers and Task's queryset.

Every query a request runs starts from ``for_user``. The default manager of a user-owned model
(``objects``) refuses to build a query without a user; the admin and maintenance code ask for
every user's rows by name (``unscoped``, the models' base manager: tasks.models).
"""

import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import models
from django.db.models import Case, Count, F, Q, Value, When, Window
from django.db.models.functions import Lower

from tasks.fields import Priority

if TYPE_CHECKING:
    # Named in quotes below (generic bases): tasks.models imports this module.
    from tasks.models import ErasedUser, IdempotencyRecord, Task  # noqa: F401

ORDERING_FIELDS = ("created_at", "updated_at", "title", "due_date", "priority")
# What a list page reads: the fields of TaskOut (tasks/schemas.py), nothing else.
PAGE_FIELDS = (
    "id", "title", "description", "completed", "priority", "due_date", "created_at", "updated_at",
)  # fmt: skip


class UnscopedQueryError(RuntimeError):
    """A query on a user-owned model without a user: a bug, never client input."""


def _require_user(user_id: str) -> None:
    if not user_id:
        raise ValueError("a user id is required")  # a bug, never client input


M = TypeVar("M", bound=models.Model)


class UserScopedManager(models.Manager[M]):
    """The default manager of a user-owned model (a ``user_id`` column): ``for_user(user_id)``
    is the only way in; any other query raises UnscopedQueryError."""

    # Data migrations get this manager too, so they also name ``unscoped`` to see every row.
    use_in_migrations = True
    queryset_class: type[models.QuerySet[Any]] = models.QuerySet

    def get_queryset(self) -> models.QuerySet[M]:
        name = self.model.__name__
        raise UnscopedQueryError(
            f"{name}.{self.name} needs a user: use {name}.{self.name}.for_user(user_id), "
            f"or {name}.unscoped where every user's rows are meant (admin, maintenance)."
        )

    def for_user(self, user_id: str) -> models.QuerySet[M]:
        """The rows of ``user_id`` only (an empty id is a bug, never client input)."""
        _require_user(user_id)
        rows: models.QuerySet[M] = self.queryset_class(self.model, using=self._db)
        return rows.filter(user_id=user_id)


# Ranks, not the stored strings: "high" < "low" < "medium" alphabetically.
PRIORITY_RANK = Case(
    When(priority=Priority.LOW, then=Value(0)),
    When(priority=Priority.MEDIUM, then=Value(1)),
    default=Value(2),
    output_field=models.IntegerField(),
)


class TaskQuerySet(models.QuerySet["Task"]):
    def pending(self) -> "TaskQuerySet":
        return self.filter(completed=False)

    def completed(self) -> "TaskQuerySet":
        return self.filter(completed=True)

    def with_status(self, status: str) -> "TaskQuerySet":
        """``all``, ``pending`` or ``completed``."""
        return {"pending": self.pending, "completed": self.completed}.get(status, self.all)()

    def search(self, text: str) -> "TaskQuerySet":
        return self.filter(Q(title__icontains=text) | Q(description__icontains=text))

    def due_between(
        self, *, after: datetime.date | None = None, before: datetime.date | None = None
    ) -> "TaskQuerySet":
        """Both bounds inclusive; a bound excludes tasks without a due date."""
        tasks = self if after is None else self.filter(due_date__gte=after)
        return tasks if before is None else tasks.filter(due_date__lte=before)

    def ordered_by(self, key: str) -> "TaskQuerySet":
        """``key``: one of ORDERING_FIELDS, optionally with ``-``; ties go by id (stable pages)."""
        name = key.removeprefix("-")
        if name not in ORDERING_FIELDS:
            raise ValueError(f"unknown ordering {key!r}")
        descending = key.startswith("-")
        if name == "due_date":
            # Tasks without a due date sort last either way.
            primary = F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        else:
            expression = {"priority": PRIORITY_RANK, "title": Lower("title")}.get(name, F(name))
            primary = expression.desc() if descending else expression.asc()
        return self.order_by(primary, "-id" if descending else "id")

    def page(self, *, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """A page of rows (``values()`` dicts, not models) and the count of all, in one query.

        The count rides on each row as ``COUNT(*) OVER ()``; only a page past the end, which
        has no row to carry it, costs a second query.
        """
        counted = self.annotate(total=Window(Count("*"))).values(*PAGE_FIELDS, "total")
        rows = list(counted[offset : offset + limit])
        if rows:
            return rows, rows[0]["total"]
        return rows, self.count() if offset else 0


class TaskManager(UserScopedManager["Task"]):
    """The only way requests reach tasks: ``Task.objects.for_user(user_id)``."""

    queryset_class = TaskQuerySet

    def for_user(self, user_id: str) -> TaskQuerySet:
        return cast(TaskQuerySet, super().for_user(user_id))


class UnscopedTaskManager(models.Manager["Task"]):
    """Every user's tasks, asked for by name: ``Task.unscoped`` (admin and maintenance only)."""

    use_in_migrations = True

    def get_queryset(self) -> TaskQuerySet:
        return TaskQuerySet(self.model, using=self._db)


class IdempotencyRecordManager(UserScopedManager["IdempotencyRecord"]):
    """``IdempotencyRecord.objects.for_user(user_id)``."""


class UnscopedIdempotencyRecordManager(models.Manager["IdempotencyRecord"]):
    """Every user's records, by name: ``IdempotencyRecord.unscoped`` (the purge command)."""

    use_in_migrations = True


class ErasedUserManager(UserScopedManager["ErasedUser"]):
    """``ErasedUser.objects.for_user(user_id)``."""


class UnscopedErasedUserManager(models.Manager["ErasedUser"]):
    """Every erased user, by name: ``ErasedUser.unscoped`` (the admin)."""

    use_in_migrations = True
