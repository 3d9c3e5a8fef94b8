"""TASKS_PER_USER_MAX: a user at the cap gets 409 with a clear detail; nobody else is affected."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.tasks.conftest import TasksApi

pytestmark = pytest.mark.django_db


def test_creating_past_the_cap_answers_409(
    api_for: Callable[[str], TasksApi], settings: Any
) -> None:
    settings.TASKS_PER_USER_MAX = 2
    ann, bob = api_for("ann"), api_for("bob")
    first = ann.create()
    ann.create()
    refused = ann.call("POST", ann.url(), {"title": "one too many"})
    assert refused.status_code == 409
    assert "2 tasks" in refused.json()["detail"]
    assert ann.call("GET", ann.url()).json()["count"] == 2
    bob.create()  # the cap is per user
    assert ann.call("DELETE", ann.url(first["id"])).status_code == 204
    ann.create()  # room again


def test_a_retried_create_at_the_cap_replays_its_answer(
    api_for: Callable[[str], TasksApi], settings: Any
) -> None:
    settings.TASKS_PER_USER_MAX = 1
    ann = api_for("ann")
    first = ann.call("POST", ann.url(), {"title": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    retried = ann.call("POST", ann.url(), {"title": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert retried.status_code == 201
    assert retried.json() == first.json()
    fresh = ann.call("POST", ann.url(), {"title": "b"}, HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 409
