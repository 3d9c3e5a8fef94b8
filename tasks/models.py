"""Task and its user-scoped manager: every query a request runs starts from ``for_user``."""

from typing import Any, ClassVar

from django.db import models
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThan, LessThanOrEqual

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 1000
USER_ID_MAX_LENGTH = 255


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class TaskQuerySet(models.QuerySet["Task"]):
    def pending(self) -> "TaskQuerySet":
        return self.filter(completed=False)

    def completed(self) -> "TaskQuerySet":
        return self.filter(completed=True)


class TaskManager(models.Manager["Task"]):
    """The only way requests reach tasks: ``Task.objects.for_user(user_id)``."""

    def for_user(self, user_id: str) -> TaskQuerySet:
        if not user_id:
            raise ValueError("a user id is required")  # a bug, never client input
        return TaskQuerySet(self.model, using=self._db).filter(user_id=user_id)


class Task(models.Model):
    user_id = models.CharField(
        max_length=USER_ID_MAX_LENGTH, help_text="Better Auth user id (the token's sub)."
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    completed = models.BooleanField(default=False)
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[TaskManager] = TaskManager()

    class Meta:
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
        )

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.title = self.title.strip()
        super().save(*args, **kwargs)
