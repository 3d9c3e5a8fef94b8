"""docs/DEPLOY.md's steps on a copy of the release: the scripts they call and the units' commands.

systemd is not on the CI machine, so tests/ops/systemd_standin.py stands in for it: it starts
the shipped units' ``ExecStart=`` with their environment (the same EnvironmentFile, read with
systemd's rules) and is the ``systemctl`` that deploy/todo-api-restart calls. What it does not
do (users, sandboxing, restarts on failure) is listed there. The EnvironmentFile is
``.env.example`` as shipped, with the site's values appended (a later line wins), as an operator
who copied it would have it. The release's manage.py commands run through
deploy/todo-api-manage; the instances are real gunicorn masters on loopback.
"""

import io
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dotenv import dotenv_values

from scripts.harness import (
    free_port,
    render_nginx_site,
    start_nginx,
    stop,
    wait_for_http,
    wait_until,
)
from tests.ops.servers import redis_server, require_binary
from tests.ops.systemd_standin import REPO, UNITS, Host, read_environment_file, read_unit

PUBLIC_HOST = "api.example.com"
NEW_HOST = "todo.example.com"
MARKER = '\nurlpatterns.append(path("release", lambda request: HttpResponse("{}")))\n'


def env_example_assignments() -> list[str]:
    """Every assignment in .env.example, the commented-out examples uncommented."""
    lines = []
    for line in (REPO / ".env.example").read_text().splitlines():
        candidate = line.removeprefix("# ")
        if "=" in candidate and candidate.split("=", 1)[0].isidentifier():
            lines.append(candidate)
    return lines


def test_env_example_reads_the_same_in_systemd_and_in_django() -> None:
    # systemd keeps "value   # comment" whole; python-dotenv (the .env the app reads) drops
    # the comment. Every line, commented-out examples included, must mean the same to both.
    lines = env_example_assignments()
    assert len(lines) > 30
    for line in lines:
        assert read_environment_file(line) == dotenv_values(stream=io.StringIO(line)), line
    names = {line.split("=", 1)[0] for line in lines}
    assert not names & {"HOST", "PORT", "PROMETHEUS_MULTIPROC_DIR"}  # the unit's, per instance


def test_environment_file_rules() -> None:
    text = (
        "# comment\n ; also a comment\nA=1   # kept, as systemd keeps it\nB = two words  \n"
        "C=\"quoted # not a comment\"\nD='single $x'\nE=line\\\n continued\nA=later wins\n"
        "bad-name=x\n"
    )
    assert read_environment_file(text) == {
        "A": "later wins",
        "B": "two words",
        "C": "quoted # not a comment",
        "D": "single $x",
        "E": "line continued",
    }


@dataclass
class Release:
    host: Host
    bin_dir: Path  # systemctl (the stand-in) and nothing else of ours
    db: Path
    edits: dict[Path, str] = field(default_factory=dict)

    def edit(self, relative: str, change: Callable[[str], str]) -> None:
        """Change a file of the release, or the EnvironmentFile, in place (undone after)."""
        path = self.host.app / relative if relative != "env" else self.host.env_file
        self.edits.setdefault(path, path.read_text())
        path.write_text(change(path.read_text()))

    def script_env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}:/usr/bin:/bin",
            "SYSTEMD_STANDIN_ROOT": str(self.host.root),
            "TODO_API_DIR": str(self.host.app),
            "TODO_API_ENV_FILE": str(self.host.env_file),
            "DJANGO_DEBUG": "1",  # left in the operator's shell: must not reach the release
            **extra,
        }

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = pwd.getpwuid(os.geteuid()).pw_name  # the service's user here
        return subprocess.run(
            [str(self.host.app / "deploy" / "todo-api-manage"), *args],
            env=self.script_env(TODO_API_USER=user), capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def restart(self, *ports: int, timeout: int = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.host.app / "deploy" / "todo-api-restart"), *map(str, ports)],
            env=self.script_env(TODO_API_READY_TIMEOUT=str(timeout)),
            capture_output=True, text=True, timeout=timeout * 3 + 60,
        )  # fmt: skip


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    """/srv/todo-api (the working tree's files and the virtualenv), /etc/todo-api/env, a
    systemctl; the release steps run once, by the first test that asks for them."""
    require_binary("curl")
    require_binary("nginx")
    tmp_path = tmp_path_factory.mktemp("deploy")
    redis = redis_server(tmp_path)
    redis.start()
    app = tmp_path / "srv" / "todo-api"
    files = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(files, cwd=REPO, capture_output=True, check=True).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (REPO / name).is_file():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, app / name)
    (app / ".venv").symlink_to(Path(sys.executable).parent.parent)
    db = tmp_path / "todo.sqlite3"
    env_file = tmp_path / "etc" / "todo-api" / "env"
    env_file.parent.mkdir(parents=True)
    site = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": PUBLIC_HOST,
        "DJANGO_BEHIND_PROXY": "1",
        "DATABASE_URL": f"sqlite:///{db}",
        "REDIS_URL": redis.url,
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(40),
        "WEB_CONCURRENCY": "2",
    }
    example = (REPO / ".env.example").read_text()
    env_file.write_text(example + "".join(f"{k}={v}\n" for k, v in site.items()))
    host = Host(tmp_path / "systemd", app, env_file)
    host.root.mkdir()
    host.save()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "systemctl"
    shim.write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" '
        '-m tests.ops.systemd_standin "$@"\n'
    )
    shim.chmod(0o755)
    yield Release(host, bin_dir, db)
    redis.stop()


@pytest.fixture
def release(shipped: Release) -> Iterator[Release]:
    """The shipped release with its steps done; afterwards its instances stopped, edits undone."""
    if not shipped.db.exists():
        release_steps(shipped)
    yield shipped
    for name in shipped.host.running():
        shipped.host.stop(name)
    for path, text in shipped.edits.items():
        path.write_text(text)
    shipped.edits.clear()


def get(port: int, path: str, *, host: str = PUBLIC_HOST) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": host, "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # loopback
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def wait_ready(port: int, timeout: float = 30) -> None:
    wait_until(lambda: get(port, "/api/ready")[0] == 200, what=f"127.0.0.1:{port}", timeout=timeout)


def release_steps(release: Release) -> None:
    """DEPLOY.md section 4, before the restart: check, migrate, collectstatic."""
    for args in (
        ("check", "--deploy", "--fail-level", "WARNING"),
        ("migrate", "--no-input"),
        ("collectstatic", "--no-input", "-v", "0"),
    ):
        done = release.manage(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)


def test_manage_wrapper_runs_with_the_services_environment_only(shipped: Release) -> None:
    release = shipped
    release_steps(release)
    assert release.db.exists()  # the database the EnvironmentFile names, nothing else
    code = "from django.conf import settings; print(settings.DEBUG, settings.ALLOWED_HOSTS)"
    shown = release.manage("shell", "-v", "0", "-c", code)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"False ['{PUBLIC_HOST}']"  # not the caller's DJANGO_DEBUG=1
    # NAME=value before the command: for that run only.
    code = "from django.db import connection; print(connection.settings_dict['NAME'])"
    other = release.db.with_name("other.sqlite3")
    shown = release.manage(f"DATABASE_URL=sqlite:///{other}", "shell", "-v", "0", "-c", code)
    assert shown.stdout.strip() == str(other), shown.stderr


def test_a_release_restarts_one_instance_at_a_time_and_serves_the_new_code(
    release: Release,
) -> None:
    ports = [free_port(), free_port()]
    for port in ports:
        release.host.start(f"todo-api@{port}")
    for port in ports:
        wait_ready(port)
    first_pids = {p: release.host.main_pid(f"todo-api@{p}") for p in ports}
    assert [get(p, "/release")[0] for p in ports] == [404, 404]
    for port in ports:  # what journalctl -u todo-api@PORT would show: gunicorn's own lines
        log = (release.host.root / f"todo-api@{port}.log").read_text()
        assert "Booting worker with pid" in log
        assert "Logging error" not in log
        control = release.host.root / "run" / f"todo-api-{port}" / "gunicorn.ctl"
        wait_until(control.exists, what="gunicorn's control socket", timeout=10)  # after boot

    # The next release lands in the code directory while the old one serves.
    # ... and a new host name in the EnvironmentFile, which only a start reads.
    release.edit("env", lambda text: text + f"DJANGO_ALLOWED_HOSTS={PUBLIC_HOST},{NEW_HOST}\n")
    assert [get(p, "/api/me", host=NEW_HOST)[0] for p in ports] == [400, 400]
    release.edit(
        "todo_project/urls.py",
        lambda text: "from django.http import HttpResponse\n" + text + MARKER.format("release 2"),
    )
    assert release.manage("migrate", "--no-input").returncode == 0

    # Traffic through nginx (the direct variant, both instances behind it) throughout.
    nginx_port = free_port()
    site = render_nginx_site(
        listen=nginx_port, upstreams=ports, metrics_listen=free_port(),
        per_ip_rate="1000r/s", burst=1000,
    )  # fmt: skip
    prefix = release.host.root / "nginx"
    nginx = start_nginx(prefix, site, log=prefix.with_suffix(".log"))
    try:
        wait_for_http(f"http://127.0.0.1:{nginx_port}/api/health", what="nginx", process=nginx)
        through_nginx, instances = roll_under_traffic(release, nginx_port, ports)
    finally:
        stop(nginx)
    assert [get(p, "/release") for p in ports] == [(200, "release 2")] * 2
    assert [get(p, "/api/me", host=NEW_HOST)[0] for p in ports] == [401, 401]
    assert all(release.host.main_pid(f"todo-api@{p}") != first_pids[p] for p in ports)
    assert any(0 in r for r in instances), "the probe never saw an instance restart"
    assert (0, 0) not in instances, "both instances were down at once"
    assert len(through_nginx) > 20
    assert set(through_nginx) == {200}, "a request through nginx failed during the restart"


def roll_under_traffic(
    release: Release, nginx_port: int, ports: list[int]
) -> tuple[list[int], list[tuple[int, int]]]:
    """Run todo-api-restart while probing nginx and each instance; the statuses seen."""
    through_nginx: list[int] = []
    instances: list[tuple[int, int]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            through_nginx.append(get(nginx_port, "/api/health")[0])
            instances.append((get(ports[0], "/api/health")[0], get(ports[1], "/api/health")[0]))
            time.sleep(0.02)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    done = release.restart()  # no argument: every running todo-api@ instance
    stop.set()
    prober.join(timeout=10)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert done.stdout.count("is ready") == 2
    return through_nginx, instances


def test_a_release_that_does_not_start_stops_the_roll(release: Release) -> None:
    ports = [free_port(), free_port()]
    for port in ports:
        release.host.start(f"todo-api@{port}")
    for port in ports:
        wait_ready(port)
    release.edit("todo_project/settings.py", lambda text: text + "\nraise RuntimeError('broken')\n")
    done = release.restart(*ports, timeout=5)
    assert done.returncode != 0
    assert f"todo-api@{ports[0]} is not ready" in done.stderr
    assert get(ports[1], "/api/ready")[0] == 200  # untouched: still the old release


def test_the_purge_timer_runs_the_purge_with_the_same_environment(release: Release) -> None:
    timer = read_unit(UNITS / "todo-api-purge.timer")
    assert timer["Timer"]["Unit"] == ["todo-api-purge.service"]
    assert timer["Timer"]["OnCalendar"] == ["hourly"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    argv, env, cwd = release.host.command("todo-api-purge")
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Deleted 0 expired idempotency record(s)." in done.stdout


def test_the_two_nginx_variants_differ_only_where_marked() -> None:
    # deploy/nginx-todo-api-behind-lb.conf.template is the direct one plus its "variant" lines:
    # a change to one that is not made to the other fails here.
    def shared(name: str) -> list[str]:
        text = (REPO / "deploy" / name).read_text()
        return [
            line
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#") and "# variant" not in line
        ]

    assert shared("nginx-todo-api.conf.template") == shared(
        "nginx-todo-api-behind-lb.conf.template"
    )
    lb = (REPO / "deploy" / "nginx-todo-api-behind-lb.conf.template").read_text()
    assert "set_real_ip_from ${TODO_BALANCER_RANGE};  # variant" in lb
    assert "proxy_set_header X-Forwarded-Proto $todo_forwarded_proto;  # variant" in lb
