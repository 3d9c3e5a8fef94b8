"""Task, its idempotency records and the erased users: the user's data, and its rules.

Each model's default manager (``objects``) refuses to build a query without a user;
``for_user(user_id)`` is the only way in (tasks.managers). The admin and maintenance code ask
for every user's rows by name, ``unscoped``, which is also the base manager Django uses for
saving, deleting and ``refresh_from_db`` (CONTRACT §6, README).
"""

import datetime
from collections.abc import Collection
from typing import Any, ClassVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from tasks.fields import (
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    USER_ID_MAX_LENGTH,
    Priority,
)
from tasks.managers import (
    PAGE_FIELDS,
    ErasedUserManager,
    IdempotencyRecordManager,
    TaskManager,
    TaskQuerySet,
    UnscopedErasedUserManager,
    UnscopedIdempotencyRecordManager,
    UnscopedQueryError,
    UnscopedTaskManager,
)

# Importable from here as they always were (the migrations name the managers here too).
__all__ = [
    "DESCRIPTION_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "IDEMPOTENCY_WINDOW",
    "PAGE_FIELDS",
    "TITLE_MAX_LENGTH",
    "USER_ID_MAX_LENGTH",
    "ErasedUser",
    "ErasedUserManager",
    "IdempotencyRecord",
    "IdempotencyRecordManager",
    "Priority",
    "Task",
    "TaskManager",
    "TaskQuerySet",
    "UnscopedErasedUserManager",
    "UnscopedIdempotencyRecordManager",
    "UnscopedQueryError",
    "UnscopedTaskManager",
]

IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


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
