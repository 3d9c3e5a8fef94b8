"""A stand-in for the parts of systemd the deploy steps use, for machines without systemd (CI).

It reads the shipped unit files (deploy/systemd/) and starts exactly their ``ExecStart=`` with
their ``WorkingDirectory=``, ``Environment=`` and ``EnvironmentFile=`` (read with the rules of
deploy/todo-api-manage, values from the file winning over ``Environment=`` as in systemd), an
otherwise empty environment, ``%i`` for the instance, ``RuntimeDirectory=`` created at start
and removed at stop, and ``KillMode=mixed`` (SIGTERM to the main process, SIGKILL to what is
left after ``TimeoutStopSec=``). Not emulated: ``User=``/``Group=`` and the sandboxing
options (the processes run as the test's user), ``Restart=``, dependencies, the journal.

The paths the units name (/srv/todo-api, /etc/todo-api/env, /run) are mapped to a test's
directories. As a command (``python -m tests.ops.systemd_standin``, the ``systemctl`` the
tests put on PATH) it answers ``start``, ``stop``, ``restart`` and ``list-units`` for
``todo-api@PORT`` with the directories named by ``SYSTEMD_STANDIN_ROOT``.
"""

import contextlib
import fnmatch
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def load_script(path: Path) -> ModuleType:
    """A Python script without the .py suffix (deploy/todo-api-manage) as a module."""
    module = ModuleType(path.name.replace("-", "_"))
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102  # our own script
    return module


MANAGE = load_script(REPO / "deploy" / "todo-api-manage")
read_environment_file = MANAGE.read_environment_file


def read_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value given (systemd's INI: a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@dataclass
class Host:
    """The directories a test gives the units' absolute paths."""

    root: Path  # state (pid files, logs) and the mapped /run
    app: Path  # /srv/todo-api
    env_file: Path  # /etc/todo-api/env

    def save(self) -> None:
        paths = {"app": str(self.app), "env_file": str(self.env_file)}
        (self.root / "host.json").write_text(json.dumps(paths))

    @classmethod
    def load(cls, root: Path) -> "Host":
        paths = json.loads((root / "host.json").read_text())
        return cls(root, Path(paths["app"]), Path(paths["env_file"]))

    def map(self, value: str) -> str:
        value = value.replace("/etc/todo-api/env", str(self.env_file))
        value = value.replace("/srv/todo-api", str(self.app))
        return value.replace("/run/", f"{self.root / 'run'}/")

    # --- one unit ------------------------------------------------------------------------
    def service(self, name: str) -> tuple[str, str, dict[str, list[str]]]:
        """(unit file stem, instance, [Service]) for ``todo-api@8001`` or ``todo-api-purge``."""
        name = name.removesuffix(".service")
        template, at, instance = name.partition("@")
        path = UNITS / (f"{template}@.service" if at else f"{template}.service")
        service = read_unit(path)["Service"]
        expanded = {k: [v.replace("%i", instance) for v in vs] for k, vs in service.items()}
        return name, instance, expanded

    def command(self, name: str) -> tuple[list[str], dict[str, str], Path]:
        """The unit's ExecStart as argv, the environment systemd would give it, its directory."""
        _, _, service = self.service(name)
        (exec_start,) = service["ExecStart"]
        env = {"PATH": SYSTEMD_PATH, "HOME": str(self.app), "LANG": "C.UTF-8"}
        for assignments in service.get("Environment", []):
            for assignment in shlex.split(assignments):
                key, _, value = assignment.partition("=")
                env[key] = self.map(value)
        for env_file in service.get("EnvironmentFile", []):  # wins over Environment=
            env.update(read_environment_file(Path(self.map(env_file)).read_text()))
        argv = [self.map(word) for word in shlex.split(exec_start)]
        return argv, env, Path(self.map(service["WorkingDirectory"][0]))

    def pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def runtime_dirs(self, name: str) -> list[Path]:
        _, _, service = self.service(name)
        return [self.root / "run" / d for d in service.get("RuntimeDirectory", [])]

    def start(self, name: str) -> int:
        if self.main_pid(name) is not None:
            return 0  # systemctl start on a running unit does nothing
        for directory in self.runtime_dirs(name):
            directory.mkdir(parents=True, exist_ok=True)
        argv, env, cwd = self.command(name)
        log = (self.root / f"{name}.log").open("ab")
        process = subprocess.Popen(  # the unit's own command line
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.pid_file(name).write_text(str(process.pid))
        return process.pid

    def main_pid(self, name: str) -> int | None:
        try:
            pid = int(self.pid_file(name).read_text())
        except FileNotFoundError:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return None  # exited, not yet reaped by its parent
        return pid

    def stop(self, name: str) -> None:
        """KillMode=mixed: SIGTERM to the main process, then SIGKILL to the whole group."""
        pid = self.main_pid(name)
        if pid is not None:
            _, _, service = self.service(name)
            timeout = float(service.get("TimeoutStopSec", ["90"])[0])
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.main_pid(name) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.pid_file(name).unlink(missing_ok=True)
        for directory in self.runtime_dirs(name):
            shutil.rmtree(directory, ignore_errors=True)

    def running(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.pid") if self.main_pid(p.stem))


def systemctl(root: Path, args: list[str]) -> int:
    """``systemctl start|stop|restart UNIT...`` and ``systemctl list-units ... PATTERN``."""
    host = Host.load(root)
    verb, *rest = args
    units = [a for a in rest if not a.startswith("-")]
    if verb == "list-units":
        for name in host.running():
            if not units or any(fnmatch.fnmatch(f"{name}.service", u) for u in units):
                print(f"{name}.service loaded active running {name}")  # noqa: T201
        return 0
    for unit in units:
        if verb in ("stop", "restart"):
            host.stop(unit.removesuffix(".service"))
        if verb in ("start", "restart"):
            host.start(unit.removesuffix(".service"))
    return 0


if __name__ == "__main__":
    sys.exit(systemctl(Path(os.environ["SYSTEMD_STANDIN_ROOT"]), sys.argv[1:]))
