"""The package as a user gets it: the built wheel, fresh virtualenvs, a real Better Auth.

Runs only when asked for (`make test-package`, `-m package`): `make test` leaves it out.
"""

import contextlib
import importlib
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

# The e2e tests' Better Auth fixtures, for the tests of this folder too.
from tests.e2e.conftest import (
    BetterAuthServer,
    BetterAuthUser,
    better_auth,
    node_project,
    run_better_auth,
)
from tests.package.matrix import ROOT, Row
from tests.package.runners import HostRunner, Runner, Venv

__all__ = ["better_auth", "node_project"]

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "authbridge"
BUILD_TIMEOUT_SECONDS = 300


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.package)
    if "package" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("package") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@dataclass(frozen=True)
class Artifacts:
    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    """`make dist`'s build, once per session: the sdist, then the wheel built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(PACKAGE_DIR)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("django_better_auth_bridge-*-py3-none-any.whl")
    (sdist,) = out.glob("django_better_auth_bridge-*.tar.gz")
    return Artifacts(wheel, sdist)


def container_runner(name: str) -> AbstractContextManager[Runner]:
    """A runner other than the host's: tests/package/container.py's `runner(name)`."""
    module = importlib.import_module("tests.package.container")
    return module.runner(name)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def runners() -> Iterator[Callable[[str], Runner]]:
    """runners(row.runner) -> a Runner, made once per session and closed at its end."""
    with ExitStack() as stack:
        made: dict[str, Runner] = {}

        def get(name: str) -> Runner:
            if name not in made:
                made[name] = (
                    HostRunner() if name == "host" else stack.enter_context(container_runner(name))
                )
            return made[name]

        yield get


@pytest.fixture(scope="session")
def venvs(
    runners: Callable[[str], Runner],
    artifacts: Artifacts,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Row], Venv]:
    """venvs(row) -> a fresh virtualenv with the row's pinned releases and the wheel, made once."""
    made: dict[str, Venv] = {}

    def get(row: Row) -> Venv:
        if row.name not in made:
            assert row.requirements.exists(), f"{row.requirements} is missing: run make lock"
            runner = runners(row.runner)
            venv = runner.create_venv(tmp_path_factory.mktemp(row.name) / "venv")
            runner.install(venv, row.requirements, artifacts.wheel)
            made[row.name] = venv
        return made[row.name]

    return get


@dataclass(frozen=True)
class DownBetterAuth:
    """A Better Auth that issued ``token`` to ``user`` and then stopped: its JWKS is unreachable."""

    url: str
    user: BetterAuthUser
    token: str


@pytest.fixture(scope="session")
def down_better_auth(node_project: Path) -> Iterator[DownBetterAuth]:
    with run_better_auth(node_project) as server:
        user = server.sign_up("Dora")
        token = user.jwt()
    # Keep its port: bound, never listening, so a connection is refused and nothing else
    # (a sample site picking a free port) can take it over during the session.
    with socket.socket() as holder:
        with contextlib.suppress(OSError):  # still in TIME_WAIT: then nothing can take it anyway
            holder.bind(("127.0.0.1", port_of(server)))
        yield DownBetterAuth(server.url, user, token)


def port_of(server: BetterAuthServer) -> int:
    return int(server.origin.rsplit(":", 1)[1])
