"""Task, its idempotency records and the erased users, each with a user-scoped manager.

Every query a request runs starts from ``for_user``.

``Task.objects`` (the default manager) refuses to build a query without a user; the admin and
maintenance code ask for every user's rows by name, ``Task.unscoped``, which is also the base
manager Django uses for saving, deleting and ``refresh_from_db`` (CONTRACT §6, README).
"""

import datetime
from collections.abc import Collection
from typing import Any, ClassVar, TypeVar, cast

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import Case, Count, F, Q, Value, When, Window
from django.db.models.functions import Length, Lower, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
USER_ID_MAX_LENGTH = 255
IDEMPOTENCY_KEY_MAX_LENGTH = 255
ORDERING_FIELDS = ("created_at", "updated_at", "title", "due_date", "priority")
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


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


# What a list page reads: the fields of TaskOut (tasks/schemas.py), nothing else.
PAGE_FIELDS = (
    "id", "title", "description", "completed", "priority", "due_date", "created_at", "updated_at",
)  # fmt: skip


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


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


class Task(models.Model):
    user_id = models.CharField(
        max_length=USER_ID_MAX_LENGTH, help_text="Better Auth user id (the token's sub)."
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    completed = models.BooleanField(default=False)
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    due_date = models.DateField(null=True, blank=True)
    # Set in save() rather than auto_now: a new task's two timestamps are then equal.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Bumped on every change; the ETag is built from it (timestamps can collide).
    version = models.PositiveBigIntegerField(default=1, editable=False)

    objects: ClassVar[TaskManager] = TaskManager()
    unscoped: ClassVar[UnscopedTaskManager] = UnscopedTaskManager()

    class Meta:
        # get_object_or_404(Task, ...), Task._default_manager and the serializers hit the scoped
        # manager and fail loudly; save(), delete() and refresh_from_db() use the base manager.
        default_manager_name = "objects"
        base_manager_name = "unscoped"
        ordering = ("-created_at", "-id")
        indexes = (
            models.Index(fields=("user_id", "-created_at", "-id"), name="task_user_newest"),
            models.Index(
                fields=("user_id", "completed", "-created_at"), name="task_user_completed"
            ),
            models.Index(fields=("user_id", "due_date"), name="task_user_due"),
        )
        # The database repeats the API's rules so bad rows cannot exist even outside the API.
        constraints = (
            models.CheckConstraint(
                condition=GreaterThan(Length(Trim("title")), 0), name="task_title_not_blank"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("title"), TITLE_MAX_LENGTH),
                name="task_title_max_length",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("description"), DESCRIPTION_MAX_LENGTH),
                name="task_description_max_length",
            ),
            models.CheckConstraint(
                condition=models.Q(priority__in=Priority.values), name="task_priority_valid"
            ),
            models.CheckConstraint(
                condition=GreaterThan(Length("user_id"), 0), name="task_user_id_not_blank"
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="task_version_positive"
            ),
        )

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.title = self.title.strip()
        if self._state.adding:
            self.updated_at = self.created_at
        else:
            self.updated_at = timezone.now()
            self.version += 1  # the admin's edits change the ETag too
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        """Delete the task and its idempotency records: they hold a copy of its text."""
        with transaction.atomic(using=kwargs.get("using") or self._state.db):
            IdempotencyRecord.objects.for_user(self.user_id).filter(task_id=self.pk).delete()
            return super().delete(*args, **kwargs)


class IdempotencyRecordManager(UserScopedManager["IdempotencyRecord"]):
    """``IdempotencyRecord.objects.for_user(user_id)``."""


class UnscopedIdempotencyRecordManager(models.Manager["IdempotencyRecord"]):
    """Every user's records, by name: ``IdempotencyRecord.unscoped`` (the purge command)."""

    use_in_migrations = True


class IdempotencyRecord(models.Model):
    """The first 201 answer to a POST with an ``Idempotency-Key`` (CONTRACT §8), per user."""

    user_id = models.CharField(max_length=USER_ID_MAX_LENGTH)
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical body.")
    task_id = models.BigIntegerField(help_text="No foreign key: deleting a task deletes these.")
    snapshot = models.JSONField(help_text="The task as the first request created it.")
    etag = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[IdempotencyRecordManager] = IdempotencyRecordManager()
    unscoped: ClassVar[UnscopedIdempotencyRecordManager] = UnscopedIdempotencyRecordManager()

    class Meta:
        default_manager_name = "objects"
        base_manager_name = "unscoped"
        constraints = (
            models.UniqueConstraint(fields=("user_id", "key"), name="idempotency_user_key"),
        )
        indexes = (models.Index(fields=("user_id", "created_at"), name="idempotency_user_age"),)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key}"

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        # Django checks a UniqueConstraint through the default manager, which needs a user; the
        # (user_id, key) rule is checked here within the user's scope, with Django's message.
        exclude = set(exclude or ())
        for constraint in self._meta.constraints:
            if constraint.name != "idempotency_user_key":
                # BaseConstraint.validate exists since Django 4.1; django-stubs 5.2 lacks it.
                constraint.validate(  # type: ignore[attr-defined]
                    type(self), self, exclude=exclude, using=self._state.db
                )
            elif not exclude & {"user_id", "key"} and self.user_id:
                others = IdempotencyRecord.objects.for_user(self.user_id).exclude(pk=self.pk)
                if others.filter(key=self.key).exists():
                    message = self.unique_error_message(type(self), ("user_id", "key"))
                    raise ValidationError({NON_FIELD_ERRORS: [message]})


class ErasedUserManager(UserScopedManager["ErasedUser"]):
    """``ErasedUser.objects.for_user(user_id)``."""


class UnscopedErasedUserManager(models.Manager["ErasedUser"]):
    """Every erased user, by name: ``ErasedUser.unscoped`` (the admin)."""

    use_in_migrations = True


class ErasedUser(models.Model):
    """A user whose data was erased (``DELETE /api/{user_id}/account``, ``erase_user_data``).

    Only the id and the time: a create with a token issued before ``erased_at`` is refused
    (CONTRACT §4, §5), so a token that outlives its account cannot bring data back.
    """

    user_id = models.CharField(max_length=USER_ID_MAX_LENGTH, unique=True)
    erased_at = models.DateTimeField(help_text="The last erasure; older tokens cannot create.")

    objects: ClassVar[ErasedUserManager] = ErasedUserManager()
    unscoped: ClassVar[UnscopedErasedUserManager] = UnscopedErasedUserManager()

    class Meta:
        default_manager_name = "objects"
        base_manager_name = "unscoped"
        constraints = (
            models.CheckConstraint(
                condition=GreaterThan(Length("user_id"), 0), name="erased_user_id_not_blank"
            ),
        )

    def __str__(self) -> str:
        return self.user_id
