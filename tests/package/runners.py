"""Where the package tests run a Python: this host, or (tests/package/container.py) a container.

A `Runner` turns "run this argv in this folder with this environment" into a host process.
The contract a runner keeps, so that the tests are the same everywhere:

- paths are the host's: a container runner bind-mounts the test's temporary folders and the
  built wheel at the same paths;
- 127.0.0.1 is the host's loopback: a container runner shares the host's network, so the
  sample sites reach the Better Auth server on the host and the tests reach the sample sites;
- `python` is the interpreter that creates the virtualenvs (`python -m venv`), as the runner
  names it (`sys.executable` here; say `python3.13` in a Debian 13 container).

`Venv` is a fresh virtualenv made by a runner, `Site` a sample project served by its Python.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.harness import HarnessError, free_port, stop, wait_for_port
from tests.e2e.conftest import Response, http

INSTALL_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 30

# What a sample's process gets from the host: enough to run, nothing of this repository's
# own configuration (DJANGO_SETTINGS_MODULE, PYTHONPATH, BETTER_AUTH_*, DATABASE_URL, .env).
PASSED_THROUGH = ("PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.update(LANG="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


class Runner:
    """Runs commands on this host; a container runner overrides `host_command` (and `stop`)."""

    def __init__(self, name: str, python: str) -> None:
        self.name = name
        self.python = python

    def host_command(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path
    ) -> tuple[list[str], dict[str, str], Path | None]:
        """The host argv, environment and working folder that run ``argv`` as asked."""
        return list(argv), dict(env), cwd

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        command, host_env, host_cwd = self.host_command(
            argv, env=clean_environment() if env is None else env, cwd=cwd
        )
        return subprocess.run(
            command,
            env=host_env,
            cwd=host_cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def popen(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        command, host_env, host_cwd = self.host_command(argv, env=env, cwd=cwd)
        with log.open("wb") as output:
            return subprocess.Popen(
                command, env=host_env, cwd=host_cwd, stdout=output, stderr=subprocess.STDOUT
            )

    def stop(self, process: subprocess.Popen[Any]) -> None:
        stop(process, timeout=10)

    def create_venv(self, path: Path) -> "Venv":
        done = self.run([self.python, "-m", "venv", str(path)], cwd=path.parent)
        assert done.returncode == 0, f"{self.python} -m venv failed:\n{done.stdout}{done.stderr}"
        return Venv(self, path)

    def install(self, venv: "Venv", requirements: Path, wheel: Path) -> None:
        """The row's hash-pinned requirements, then the wheel alone (its dependencies: in them)."""
        pip_install = [str(venv.python), "-m", "pip", "install", "-q"]
        for argv in (
            [*pip_install, "--require-hashes", "--no-deps", "-r", str(requirements)],
            [*pip_install, "--no-deps", str(wheel)],
        ):
            venv.check_call(argv, timeout=INSTALL_TIMEOUT_SECONDS)


class HostRunner(Runner):
    """This machine's Python; installs with uv when the dev virtualenv has it (much faster)."""

    def __init__(self, name: str = "host", python: str = sys.executable) -> None:
        super().__init__(name, python)
        dev_bin = Path(sys.executable).parent
        found = dev_bin / "uv" if (dev_bin / "uv").exists() else shutil.which("uv")
        self.uv = str(found) if found else None

    def install(self, venv: "Venv", requirements: Path, wheel: Path) -> None:
        if self.uv is None:
            super().install(venv, requirements, wheel)
            return
        target = ["--python", str(venv.python)]
        uv_pip = [self.uv, "pip", "install", "--quiet", *target]
        venv.check_call(
            [*uv_pip, "--require-hashes", "--no-deps", "-r", str(requirements)],
            timeout=INSTALL_TIMEOUT_SECONDS,
        )
        venv.check_call([*uv_pip, "--no-deps", str(wheel)], timeout=INSTALL_TIMEOUT_SECONDS)


@dataclass
class Venv:
    runner: Runner
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """argv in ``cwd`` (default: the virtualenv) with a clean environment plus ``env``."""
        return self.runner.run(
            argv, cwd=cwd or self.path, env=clean_environment(**(env or {})), timeout=timeout
        )

    def check_call(self, argv: Sequence[str], *, timeout: float = 120) -> str:
        done = self.run(argv, timeout=timeout)
        assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def python_run(
        self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.python), *args], cwd=cwd, env=env)


@dataclass
class Site:
    """A sample project, copied out of the repository and served by a virtualenv's Python."""

    venv: Venv
    root: Path  # the copy: manage.py is here
    better_auth_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def copy(cls, venv: Venv, sample: Path, into: Path, better_auth_url: str) -> "Site":
        root = into / sample.name
        shutil.copytree(sample, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        return cls(venv, root, better_auth_url)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "runserver.log"

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"BETTER_AUTH_URL": self.better_auth_url}
        return self.venv.python_run("manage.py", *args, cwd=self.root, env=env)

    def start(self) -> "Site":
        argv = [str(self.venv.python), "manage.py", "runserver", "--noreload"]
        env = clean_environment(BETTER_AUTH_URL=self.better_auth_url)
        self.process = self.venv.runner.popen(
            [*argv, f"127.0.0.1:{self.port}"], cwd=self.root, env=env, log=self.log
        )
        try:
            wait_for_port(
                self.port, what="runserver", process=self.process, log=self.log,
                timeout=START_TIMEOUT_SECONDS,
            )  # fmt: skip
        except HarnessError as error:
            raise AssertionError(str(error)) from None
        return self

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.venv.runner.stop(self.process)

    def get(self, path: str, token: str | None = None) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return http("GET", f"{self.base}{path}", headers=headers)
