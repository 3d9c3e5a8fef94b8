"""The per-user cap on stored tasks (TASKS_PER_USER_MAX, CONTRACT §5): 409 past it."""

from django.conf import settings

from tasks.errors import TooManyTasks
from tasks.models import Task


def ensure_room_for_task(user_id: str) -> None:
    """Raise TooManyTasks when ``user_id`` already stores the maximum number of tasks."""
    limit = settings.TASKS_PER_USER_MAX
    # Counting at most `limit` rows keeps this cheap however many there are.
    if Task.objects.for_user(user_id).values("pk")[:limit].count() >= limit:
        raise TooManyTasks(
            f"You already have {limit} tasks, the most one user can store. "
            "Delete some (e.g. clear completed) before creating more."
        )
