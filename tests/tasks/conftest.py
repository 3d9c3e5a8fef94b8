"""Task factories and an API client for the tasks tests."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client

from tasks.models import Task
from tests.tasks.scope_guard import require_user_scope

TaskFactory = Callable[..., Task]
# What a request on one task (/api/{user_id}/tasks/{id}[/complete]) answers when it succeeds.
SUCCESS_STATUS = {"GET": 200, "PUT": 200, "PATCH": 200, "DELETE": 204}


@pytest.fixture
def make_task(db: None) -> TaskFactory:
    """``make_task(user_id="u1", title=..., **fields)`` saves and returns a Task."""

    def factory(user_id: str = "user-1", **overrides: Any) -> Task:
        fields: dict[str, Any] = {"title": "A task", **overrides}
        task = Task(user_id=user_id, **fields)
        task.save()
        return task

    return factory


@dataclass
class TasksApi:
    """The tasks endpoints of one user, called through the Django test client with a token.

    Every request runs under the scope guard: a statement on the tasks tables without a
    ``user_id`` condition fails the test (the client re-raises what the request reported).
    """

    client: Client
    user_id: str
    headers: dict[str, str]

    def url(self, task_id: object = None, suffix: str = "", **query: Any) -> str:
        path = f"/api/{self.user_id}/tasks"
        path = path if task_id is None else f"{path}/{task_id}{suffix}"
        return f"{path}?{urlencode(query)}" if query else path

    def call(
        self, method: str, url: str, body: Any = None, *, raw: bytes | None = None, **headers: Any
    ) -> Any:
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        with connection.execute_wrapper(require_user_scope):
            extra: dict[str, Any] = {**self.headers, **headers}  # WSGI environ entries
            return self.client.generic(method, url, data, content_type="application/json", **extra)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.call("POST", self.url(), {"title": "A task", **fields})
        assert response.status_code == 201, response.content
        return dict(response.json())


BOTH_TOKEN_KINDS = pytest.mark.parametrize("token_kind", ["hs256", "eddsa"])


@pytest.fixture
def token_kind() -> str:
    """One token kind for the tasks suite: what a task route does never depends on it.

    Verification per kind is authbridge's to test (tests/authbridge); the few tasks tests where
    the kind matters (path binding, refusals, one full answer) carry ``@BOTH_TOKEN_KINDS``.
    """
    return "eddsa"  # Better Auth's default


@pytest.fixture
def api_for(
    client: Client, auth_headers: Callable[..., dict[str, str]]
) -> Callable[[str], TasksApi]:
    """``api_for("ann")``: ann's tasks API, with a token of the current ``token_kind``."""
    return lambda user_id: TasksApi(client, user_id, auth_headers(user_id))


@pytest.fixture
def api(db: None, api_for: Callable[[str], TasksApi], user_id: str) -> TasksApi:
    return api_for(user_id)
