"""Structural rules of CONTRACT §6 and STYLE §5 that a reviewer could miss in a diff.

1. ``Task.objects``, ``IdempotencyRecord.objects`` and ``ErasedUser.objects`` refuse a query
   without a user at run time (tests/tasks/test_managers.py); reaching every user's rows means
   naming the unscoped manager, and only the modules in ``MAY_NAME_UNSCOPED`` do.
2. Every operation under ``/api/{user_id}/`` is guarded by the binding bearer, and only by it.
"""

import ast
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from authbridge.ninja import BetterAuthBearer
from todo_project.api import api

ROOT = Path(__file__).resolve().parent.parent
# Names that reach every user's rows: the unscoped managers and Django's base manager.
UNSCOPED_NAMES = {"unscoped", "_base_manager", "base_manager"}
MAY_NAME_UNSCOPED = {
    Path("tasks/models.py"),  # defines the managers
    Path("tasks/admin.py"),  # the admin lists every user's tasks
    Path("tasks/management/commands/list_data_owners.py"),  # which users own data here
    Path("tasks/management/commands/purge_idempotency_records.py"),  # a periodic job
    Path("tasks/management/commands/seed_tasks.py"),  # benchmark data for many users
}
APP_DIRS = ("todo_project", "authbridge", "edge", "tasks", "bench", "scripts")
SKIPPED_DIRS = {"migrations"}


def app_modules() -> Iterator[Path]:
    """The service's code (tests may name the unscoped manager to check on the database)."""
    for directory in APP_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if not SKIPPED_DIRS.intersection(relative.parts):
                yield relative


def unscoped_names(source: str) -> list[int]:
    """Line numbers naming an unscoped manager, as an attribute or as a string (getattr)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        name = getattr(node, "attr", None) or getattr(node, "value", None)
        if isinstance(node, ast.Attribute | ast.Constant) and name in UNSCOPED_NAMES:
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        pytest.param("Task.objects.for_user(uid).filter(pk=1)", [], id="scoped"),
        pytest.param("Task.unscoped.all()", [1], id="unscoped"),
        pytest.param("x = 1\nrecords = IdempotencyRecord.unscoped", [2], id="record-unscoped"),
        pytest.param("Task._base_manager.all()", [1], id="base-manager"),
        pytest.param("Task._meta.base_manager.all()", [1], id="meta-base-manager"),
        pytest.param('getattr(Task, "unscoped")', [1], id="getattr"),
        pytest.param("Task._default_manager.all()", [], id="default-manager-refuses-at-run-time"),
    ],
)
def test_the_scan_itself(source: str, flagged: list[int]) -> None:
    assert unscoped_names(source) == flagged


def test_only_the_admin_and_maintenance_code_name_the_unscoped_manager() -> None:
    offenders = {
        f"{path}:{line}"
        for path in app_modules()
        if path not in MAY_NAME_UNSCOPED
        for line in unscoped_names((ROOT / path).read_text())
    }
    assert not offenders, f"use Task.objects.for_user(...) (CONTRACT §6): {sorted(offenders)}"
    scanned = set(app_modules())
    assert {Path("tasks/api.py"), Path("tasks/services.py")} <= scanned  # it looks at app code
    assert scanned >= MAY_NAME_UNSCOPED  # no stale entry


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
    assert {"{user_id}/tasks", "{user_id}/tasks/{task_id}", "{user_id}/account"} <= paths


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
        assert callback.bind_path_user == "user_id", f"{method} {path} does not bind the path user"


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


def imports_of(path: Path) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    names = {
        n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0
    }
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        pytest.param("edge", {"todo_project", "tasks"}, id="edge-under-the-apps"),
        pytest.param("tasks", {"todo_project"}, id="tasks-never-imports-the-wiring"),
    ],
)
def test_imports_go_one_way(package: str, forbidden: set[str]) -> None:
    """authbridge, then edge, then tasks, then todo_project (the wiring): never back up."""
    offenders = {
        f"{path}: {sorted(imports_of(path) & forbidden)}"
        for path in app_modules()
        if path.parts[0] == package and imports_of(path) & forbidden
    }
    assert offenders == set()
