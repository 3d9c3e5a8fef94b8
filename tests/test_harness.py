"""scripts/harness: ports, polling, the stop policy, the throwaway servers, the production env."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from scripts.harness import (
    HarnessError,
    MissingBinary,
    PostgresCluster,
    RedisServer,
    find_binary,
    free_port,
    port_open,
    postgres_bin_dirs,
    production_env,
    start,
    stop,
    wait_for_port,
    wait_until,
)
from tests.ops.servers import redis_server, require_binary, unavailable

# Ignores SIGTERM, says so (so the test knows the handler is in place), then sleeps.
STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)


def test_free_port_is_bindable_and_nothing_listens_there() -> None:
    port = free_port()
    assert not port_open(port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert port_open(port)


def test_wait_until_times_out_naming_what_and_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("early line\nport already in use\n")
    with pytest.raises(HarnessError, match="the thing did not come up within 0s") as raised:
        wait_until(lambda: False, what="the thing", timeout=0, log=log)
    assert "port already in use" in str(raised.value)
    wait_until(lambda: True, what="the control", timeout=0)  # true at once: no error


def test_wait_stops_early_when_the_process_exits(tmp_path: Path) -> None:
    log = tmp_path / "exits.log"
    process = start([sys.executable, "-c", "print('bad config'); raise SystemExit(3)"], log=log)
    with pytest.raises(HarnessError, match="exited with status 3") as raised:
        wait_for_port(free_port(), what="the server", process=process, log=log, timeout=60)
    assert "bad config" in str(raised.value)


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    process = start([sys.executable, "-c", STUBBORN], log=log)
    wait_until(lambda: "ready" in log.read_text(), what="the stubborn process", process=process)
    stop(process, timeout=0.5)
    assert process.returncode == -signal.SIGKILL


def test_stop_ends_a_well_behaved_process_with_sigterm_and_its_children(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    child = "import time; time.sleep(600)"
    parent = (
        f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', {child!r}]); "
        "print(p.pid, flush=True); time.sleep(600)"
    )
    process = start([sys.executable, "-c", parent], log=log)
    wait_until(lambda: log.read_text().strip().isdigit(), what="the child's pid", process=process)
    child_pid = int(log.read_text())
    stop(process)
    assert process.returncode == -signal.SIGTERM
    # the group got the signal too, not only its leader
    wait_until(lambda: dead(child_pid), what="the child's exit", timeout=10)


def dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (in a container PID 1 may not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_stop_signals_only_the_process_when_it_leads_no_group() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stop(process)  # SIGTERM to the process: never to the group pytest runs in
    assert process.returncode == -signal.SIGTERM


def test_a_missing_binary_names_its_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("scripts.harness.processes.SBIN_PATH", "/nonexistent")
    with pytest.raises(MissingBinary, match=r"apt-get install -y postgresql\)$"):
        find_binary("initdb")
    assert find_binary("sh", "/bin") == "/bin/sh"  # extra directories are looked in first


def test_redis_starts_stops_and_restarts_on_the_same_port(tmp_path: Path) -> None:
    server = redis_server(tmp_path)
    with server:
        port = server.port
        assert port_open(port)
    assert not port_open(port)
    server.start()
    try:
        assert server.port == port
        assert port_open(port)
    finally:
        server.stop()
    assert server.process is None


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """Under a fresh directory in /tmp: as root the postgres user must reach it."""
    require_binary("initdb", *postgres_bin_dirs())
    if os.geteuid() == 0 and not Path("/usr/sbin/runuser").exists():
        unavailable("runuser is needed to run PostgreSQL as the postgres user")
    with tempfile.TemporaryDirectory(prefix="harness-pg-") as parent:
        yield Path(parent) / "pg"


def test_the_postgres_cluster_serves_stops_and_restarts(cluster_dir: Path) -> None:
    cluster = PostgresCluster(cluster_dir)
    cluster.init()
    cluster.start()
    try:
        url = cluster.create_database("harness")
        with psycopg.connect(url) as connection:
            row = connection.execute("SHOW shared_buffers").fetchone()
            assert row == ("256MB",)
        cluster.stop()
        assert not cluster.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
        cluster.start()
        with psycopg.connect(url) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.stop()


def test_the_production_env_is_debug_off_with_nothing_of_ours_inherited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://developer@127.0.0.1/mine")
    monkeypatch.setenv("BETTER_AUTH_URL", "http://localhost:3000")
    monkeypatch.setenv("PORT", "9999")
    env = production_env(allowed_hosts="127.0.0.1", REDIS_URL="redis://127.0.0.1:1/0")
    assert env["DJANGO_DEBUG"] == "0"
    assert env["DJANGO_ENV_FILE"] == os.devnull  # the checkout's .env is never read
    assert env["DJANGO_ALLOWED_HOSTS"] == "127.0.0.1"
    assert env["DJANGO_SECURE_SSL_REDIRECT"] == "0"  # plain HTTP on loopback
    assert env["REDIS_URL"] == "redis://127.0.0.1:1/0"
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
    assert "DATABASE_URL" not in env
    assert "BETTER_AUTH_URL" not in env
    assert "PORT" not in env
    assert env["PATH"] == os.environ["PATH"]  # the rest is inherited
    tls = production_env(allowed_hosts="api.example.com", https=True, inherit=False)
    assert "DJANGO_SECURE_SSL_REDIRECT" not in tls  # the secure defaults stay
    assert "PATH" not in tls
    assert production_env(allowed_hosts="h")["DJANGO_SECRET_KEY"] != env["DJANGO_SECRET_KEY"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"DJANGO_DEBUG": "1"}, "not production", id="debug-on"),
        pytest.param({"DJANGO_ENV_FILE": ".env"}, "not production", id="env-file"),
        pytest.param({"DATABSE_URL": "sqlite://"}, "not a variable", id="misspelt"),
    ],
)
def test_the_production_env_refuses(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        production_env(allowed_hosts="127.0.0.1", settings=overrides)
    assert production_env(allowed_hosts="127.0.0.1", DJANGO_DEBUG="0")["DJANGO_DEBUG"] == "0"


def test_redis_server_without_the_binary_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("scripts.harness.processes.SBIN_PATH", "/nonexistent")
    with pytest.raises(MissingBinary, match="redis-server"):
        RedisServer(Path(tempfile.gettempdir()))
