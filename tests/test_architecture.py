"""Structural rules of CONTRACT §6 and STYLE §5 that a reviewer could miss in a diff.

1. Only the admin (and migrations) may reach ``Task.objects`` without ``.for_user(``.
2. Every operation under ``/api/{user_id}/`` is guarded by the binding bearer, and only by it.
"""

import ast
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from authbridge.auth import BetterAuthBearer
from todo_project.api import api

ROOT = Path(__file__).resolve().parent.parent
SCOPED_MODELS = {"Task", "IdempotencyRecord"}
MANAGERS = {"objects", "_default_manager", "_base_manager"}
ALLOWED = {Path("tasks/admin.py")}
SKIPPED_DIRS = {".venv", "node_modules", "migrations", ".git", "staticfiles"}


def python_modules() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if not SKIPPED_DIRS.intersection(relative.parts) and relative not in ALLOWED:
            yield relative


def unscoped_manager_uses(source: str) -> list[int]:
    """Line numbers where ``Model.objects`` (or another manager) is not followed by .for_user(."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in MANAGERS):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
        if name not in SCOPED_MODELS:
            continue
        parent, grandparent = parents.get(node), parents.get(parents.get(node))  # type: ignore[arg-type]
        is_for_user_call = (
            isinstance(parent, ast.Attribute)
            and parent.attr == "for_user"
            and isinstance(grandparent, ast.Call)
            and grandparent.func is parent
        )
        if not is_for_user_call:
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        pytest.param("Task.objects.for_user(uid).filter(pk=1)", [], id="scoped"),
        pytest.param("models.Task.objects.for_user(uid)", [], id="scoped-dotted"),
        pytest.param("Task.objects.filter(user_id=uid)", [1], id="filter"),
        pytest.param("Task.objects.all()", [1], id="all"),
        pytest.param("Task._default_manager.get(pk=1)", [1], id="default-manager"),
        pytest.param("m = Task.objects\nm.for_user(uid)", [1], id="aliased"),
        pytest.param("Task.objects.for_user", [1], id="not-called"),
        pytest.param("IdempotencyRecord.objects.create()", [1], id="idempotency-record"),
        pytest.param("Other.objects.all()", [], id="other-model"),
    ],
)
def test_the_scan_itself(source: str, flagged: list[int]) -> None:
    assert unscoped_manager_uses(source) == flagged


def test_only_the_admin_reaches_tasks_without_for_user() -> None:
    offenders = {
        f"{path}:{line}"
        for path in python_modules()
        for line in unscoped_manager_uses((ROOT / path).read_text())
    }
    assert not offenders, f"use Task.objects.for_user(...) (CONTRACT §6): {sorted(offenders)}"
    assert Path("tasks/api.py") in set(python_modules())  # the scan does look at app code


def user_operations() -> Iterator[tuple[str, str, Any]]:
    """(path, method, operation) for every operation mounted under /api/{user_id}/."""
    for bound in api._get_bound_routers():
        for path, view in bound.path_operations.items():
            full = "/".join(part for part in (bound.prefix + path).split("/") if part)
            if full.startswith("{user_id}/") or full == "{user_id}":
                for operation in view.operations:
                    for method in operation.methods:
                        yield full, method, operation


def test_user_routes_exist() -> None:
    paths = {path for path, _, _ in user_operations()}
    assert {"{user_id}/tasks", "{user_id}/tasks/{task_id}"} <= paths


@pytest.mark.parametrize(
    ("path", "method", "operation"),
    [pytest.param(*op, id=f"{op[1]} {op[0]}") for op in user_operations()],
)
def test_every_user_route_requires_the_binding_bearer(
    path: str, method: str, operation: Any
) -> None:
    callbacks = list(operation.auth_callbacks)
    assert callbacks, f"{method} {path} has no auth"
    for callback in callbacks:  # Ninja accepts the first callback that succeeds
        assert isinstance(callback, BetterAuthBearer)
        assert callback.bind_path_user is True, f"{method} {path} does not bind the path user"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method"), [pytest.param(p, m, id=f"{m} {p}") for p, m, _ in user_operations()]
)
def test_every_user_route_refuses_a_token_for_someone_else(
    client: Client, make_token: Any, path: str, method: str
) -> None:
    url = "/api/" + path.replace("{user_id}", "victim").replace("{task_id}", "1")
    token = make_token("HS256", sub=f"intruder-{uuid.uuid4().hex}")
    response = client.generic(
        method, url, b'{"title": "x"}', content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
