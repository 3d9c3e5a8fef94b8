"""Task factories and an API client for the tasks tests."""

from collections.abc import Callable
from typing import Any

import pytest

from tasks.models import Task

TaskFactory = Callable[..., Task]


@pytest.fixture
def make_task(db: None) -> TaskFactory:
    """``make_task(user_id="u1", title=..., **fields)`` saves and returns a Task."""

    def factory(user_id: str = "user-1", **overrides: Any) -> Task:
        fields: dict[str, Any] = {"title": "A task", **overrides}
        task = Task(user_id=user_id, **fields)
        task.save()
        return task

    return factory
