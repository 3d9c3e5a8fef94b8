"""The processes of a benchmark run, through scripts/harness: the tools it needs, a throwaway
PostgreSQL cluster and redis-server, and the server under test with its CPU time."""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import say
from bench.scenarios import ISSUER, Keys
from scripts.harness import (
    MissingBinary,
    PostgresCluster,
    RedisServer,
    find_binary,
    postgres_bin_dirs,
    production_env,
    start,
    stop,
    wait_for_http,
)
from scripts.harness.processes import PACKAGES

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
APP = "bench.floor:make_application"  # the project's application with the floor route
SERVER_START_SECONDS = 60.0
SERVER_STOP_SECONDS = 30.0


def missing_tools(*, database: bool, redis: bool) -> list[str]:
    needed = ["wrk", *(["initdb", "pg_ctl"] if database else []), *(["redis-server"] * redis)]
    missing = []
    for name in needed:
        try:
            find_binary(name, *postgres_bin_dirs())
        except MissingBinary:
            missing.append(name)
    return missing


def ensure_tools(*, database: bool, redis: bool) -> None:
    """wrk, and PostgreSQL's and Redis's servers when throwaway ones are started: installed
    with apt-get when missing and we are root (as .ci/run installs the suite's), else exit."""
    missing = missing_tools(database=database, redis=redis)
    if not missing:
        return
    packages = sorted({PACKAGES[name] for name in missing})
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(
            f"{', '.join(missing)} not installed: `sudo apt-get install -y {' '.join(packages)}`"
            " (Debian/Ubuntu), `brew install wrk` (macOS); --no-redis or BENCH_DATABASE_URL"
            " spare Redis or PostgreSQL"
        )
    say(f"== installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *packages]
    for argv in (["apt-get", "-q", "update"], install):
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    still = missing_tools(database=database, redis=redis)
    if still:
        sys.exit(f"apt-get installed {' '.join(packages)}, but {', '.join(still)} still missing")


@contextmanager
def throwaway_cluster(directory: Path) -> Iterator[str]:
    """The harness's PostgreSQL cluster in ``directory``; stopped on exit. Yields its URL."""
    cluster = PostgresCluster(directory)
    cluster.init()
    cluster.start()
    try:
        yield cluster.url()
    finally:
        cluster.stop()


@contextmanager
def throwaway_redis(workdir: Path) -> Iterator[str]:
    """The harness's redis-server, nothing saved to disk; stopped on exit. Yields its URL."""
    with RedisServer(workdir) as server:
        yield server.url


def server_env(
    keys: Keys, database_url: str, *, redis_url: str | None, metrics_dir: Path
) -> dict[str, str]:
    """Production settings (DEBUG off; Redis for the rate limits and the JWKS, Prometheus in
    multiprocess mode), pinned keys for both algorithms."""
    return production_env(
        allowed_hosts="127.0.0.1",
        settings={"REDIS_URL": redis_url} if redis_url else {},
        DJANGO_LOG_LEVEL="INFO",  # as in production: one log line per request
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        # Counted as in production, never reached: the benchmark measures throughput.
        RATE_LIMIT_READS="1000000/min",
        RATE_LIMIT_WRITES="1000000/min",
        BETTER_AUTH_SECRET=keys.secret,
        BETTER_AUTH_JWKS=keys.jwks(),
        BETTER_AUTH_ISSUER=ISSUER,
        BETTER_AUTH_AUDIENCE=ISSUER,
        DATABASE_URL=database_url,
    )


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    if args.server == "granian":
        return [
            str(BIN / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(args.workers or 2), "--blocking-threads",
            str(args.threads or 1), "--no-ws", *shlex.split(args.server_args), "--factory", APP,
        ]  # fmt: skip
    command = [str(BIN / "gunicorn"), f"{APP}()", "-c", str(ROOT / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{port}"]
    if args.worker_class:
        command += ["--worker-class", args.worker_class]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return command + shlex.split(args.server_args)


def manage(env: dict[str, str], *arguments: str) -> None:
    subprocess.run([str(BIN / "python"), "manage.py", *arguments], env=env, cwd=ROOT, check=True)


@dataclass
class Server:
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start(self.command, log=self.log, env=self.env, cwd=ROOT)
        wait_for_http(
            f"http://127.0.0.1:{self.port}/api/health", what="the server", process=self.process,
            log=self.log, timeout=SERVER_START_SECONDS,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=SERVER_STOP_SECONDS)

    def cpu_seconds(self) -> float:
        """CPU of the server's processes so far: the master (with reaped workers) and workers."""
        assert self.process is not None  # noqa: S101 - started before measuring
        pid = self.process.pid
        total = proc_cpu_ticks(pid, with_children=True)
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += proc_cpu_ticks(int(child), with_children=True)
        return total / CLOCK_TICKS


def proc_cpu_ticks(pid: int, *, with_children: bool) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # a worker that just exited: its time is now its parent's
        return 0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return utime + stime + (cutime + cstime if with_children else 0)
