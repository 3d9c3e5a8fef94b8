"""Structural rules of CONTRACT §6 and STYLE §1, §5 that a reviewer could miss in a diff.

1. ``Task.objects``, ``IdempotencyRecord.objects`` and ``ErasedUser.objects`` refuse a query
   without a user at run time (tests/tasks/test_managers.py); reaching every user's rows means
   naming the unscoped manager, and only the modules in ``MAY_NAME_UNSCOPED`` do.
2. Every operation under ``/api/{user_id}/`` is guarded by the binding bearer, and only by it.
3. Imports go one way, authbridge < edge < tasks < todo_project; only the entry points import
   todo_project; no import cycle between packages or between modules; todo_project is wiring
   (at most eight modules).
"""

import ast
import subprocess
import uuid
from collections.abc import Collection, Iterator
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


# Bottom up: each package may import those before it, never one after it.
LAYERS = ("authbridge", "edge", "tasks", "todo_project")
# Who may import the wiring: itself and the entry points (tests, tools, servers' configs).
MAY_IMPORT_TODO_PROJECT = {
    "todo_project",
    "tests",
    "bench",
    "scripts",
    "manage.py",
    "gunicorn.conf.py",
}
WIRING_MAX_MODULES = 8


def module_name(path: Path) -> str:
    """``tasks/api.py`` -> ``tasks.api``; ``edge/__init__.py`` -> ``edge``."""
    parts = path.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def type_checking_blocks(tree: ast.AST) -> Iterator[ast.stmt]:
    """The statements under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in {
            getattr(node.test, "id", None),
            getattr(node.test, "attr", None),
        }:
            yield from node.body


def imported_modules(
    source: str,
    *,
    module: str,
    is_package: bool = False,
    modules: Collection[str] = (),
    runtime_only: bool = False,
) -> set[str]:
    """Every module ``source`` imports (at any depth: a lazy import is still a dependency).

    With ``runtime_only``, imports under ``if TYPE_CHECKING:`` do not count: they never run,
    so they cannot make an import cycle (a model's manager naming the model in its type, say).
    The layer directions count them all the same.

    ``from a import b`` is ``a.b`` when that is one of ``modules``, else ``a`` (b is a name in
    it). Relative imports are resolved against ``module``.
    """
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(source)
    typing_only = {id(n) for block in type_checking_blocks(tree) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if runtime_only and id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = ".".join(part for part in (anchor, base) if part)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.add(full if full in modules else base)
    return names


def layer_modules() -> dict[str, Path]:
    """``module name -> path`` for every module of the four layers (migrations included)."""
    return {
        module_name(path.relative_to(ROOT)): path
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
    }


def module_graph(*, runtime_only: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of the four layers it imports (itself excluded)."""
    modules = layer_modules()
    graph = {}
    for name, path in modules.items():
        found = imported_modules(
            path.read_text(),
            module=name,
            is_package=path.stem == "__init__",
            modules=modules,
            runtime_only=runtime_only,
        )
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or None if it has none (depth-first)."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done and (cycle := visit(target)):
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)):
            return cycle
    return None


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        pytest.param({}, None, id="empty"),
        pytest.param({"a": {"b"}, "b": {"c"}, "c": set()}, None, id="chain"),
        pytest.param({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, None, id="diamond"),
        pytest.param({"a": {"a"}}, ["a", "a"], id="self-loop"),
        pytest.param({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"], id="two"),
        pytest.param(
            {"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"], id="tail"
        ),
    ],
)
def test_the_cycle_finder_itself(graph: dict[str, set[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


SCANNED = {"edge", "edge.errors", "tasks", "tasks.api", "tasks.errors", "tasks.models"}


@pytest.mark.parametrize(
    ("source", "module", "imported"),
    [
        pytest.param("import edge.errors", "tasks.api", {"edge.errors"}, id="import"),
        pytest.param("from edge import errors", "tasks.api", {"edge.errors"}, id="from-module"),
        pytest.param("from edge.errors import X", "tasks.api", {"edge.errors"}, id="from-name"),
        pytest.param("from edge import respond", "tasks.api", {"edge"}, id="from-package"),
        pytest.param("from . import errors", "tasks.api", {"tasks.errors"}, id="relative"),
        pytest.param("from .errors import X", "tasks", {"tasks.errors"}, id="relative-in-init"),
        pytest.param("from ..edge import errors", "tasks.api", {"edge.errors"}, id="parent"),
        pytest.param("def f():\n    import tasks.models", "edge.x", {"tasks.models"}, id="lazy"),
    ],
)
def test_the_import_scan_itself(source: str, module: str, imported: set[str]) -> None:
    is_package = module == "tasks"
    found = imported_modules(source, module=module, is_package=is_package, modules=SCANNED)
    assert found == imported


@pytest.mark.parametrize(
    "source",
    [
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tasks.models import Task",
        "import typing\nif typing.TYPE_CHECKING:\n    import tasks.models",
    ],
)
def test_type_only_imports_count_for_the_layers_not_for_cycles(source: str) -> None:
    found = imported_modules(source, module="edge.x", modules=SCANNED)
    assert "tasks.models" in found
    runtime = imported_modules(source, module="edge.x", modules=SCANNED, runtime_only=True)
    assert "tasks.models" not in runtime


def test_no_import_cycle_between_modules() -> None:
    graph = module_graph(runtime_only=True)
    assert {"edge.errors", "tasks.api", "todo_project.api", "authbridge.ninja"} <= set(graph)
    assert "edge.metrics" in graph["edge.errors"]  # the scan sees imports inside the layers
    assert find_cycle(graph) is None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for module, targets in module_graph().items():
        package = module.split(".")[0]
        graph[package] |= {t.split(".")[0] for t in targets} - {package}
    return graph


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    assert graph["todo_project"] >= {"edge", "tasks", "authbridge"}  # the wiring sees them all
    assert find_cycle(graph) is None


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_go_one_way(layer: str) -> None:
    """authbridge, then edge, then tasks, then todo_project (the wiring): never back up."""
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    assert package_graph()[layer] & above == set()


def imports_of(path: Path) -> set[str]:
    """The top-level packages ``path`` imports."""
    found = imported_modules((ROOT / path).read_text(), module=module_name(path))
    return {name.split(".")[0] for name in found}


def python_files() -> Iterator[Path]:
    """Every Python file of the repository (git's list: no virtualenv, no node_modules)."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    yield from (Path(line) for line in listed.stdout.splitlines())


def test_only_the_entry_points_import_todo_project() -> None:
    importers = {str(path) for path in python_files() if "todo_project" in imports_of(path)}
    assert {"tests/test_architecture.py", "todo_project/urls.py"} <= importers  # it sees them
    assert {
        path for path in importers if path.split("/")[0] not in MAY_IMPORT_TODO_PROJECT
    } == set()


def test_todo_project_is_wiring_only() -> None:
    modules = {path.stem for path in (ROOT / "todo_project").glob("*.py")}
    assert len(modules) <= WIRING_MAX_MODULES, sorted(modules)
    assert not [
        p for p in (ROOT / "todo_project").iterdir() if p.is_dir() and p.name != "__pycache__"
    ]
