"""The production topology on one machine, on loopback: nginx -> two gunicorn instances ->
PostgreSQL and Redis, each our own throwaway process under one temporary directory
(scripts/harness starts and stops them all).

    python -m scripts.stack          # `make stack`: prints the URL and a token; Ctrl-C stops all

tests/ops/test_stack.py drives the same ``Stack`` under faults. Needs Debian's nginx,
redis-server and PostgreSQL server binaries; run as root, PostgreSQL runs as ``postgres``.
"""

# ruff: noqa: S603  # every command is a fixed binary with our own paths and ports as arguments
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scripts.harness import (
    CORS_ORIGINS,
    HarnessError,
    PostgresCluster,
    RedisServer,
    free_port,
    kill,
    production_env,
    render_nginx_site,
    start,
    start_nginx,
    stop,
    wait_for_http,
)

REPO = Path(__file__).resolve().parent.parent
METRICS_TOKEN = "stack-metrics-token-" + "m" * 24  # scrape: nginx's internal listener
DATABASE = "todo"


@dataclass
class Stack:
    """Start with ``start()``, stop with ``stop()``; every piece can be killed and restarted."""

    workdir: Path
    app_env: Mapping[str, str] = field(default_factory=dict)
    workers: int = 2
    per_ip_rate: str = "50r/s"
    per_ip_burst: int = 100
    nginx_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)  # nginx's internal metrics listener
    app_ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])
    pg_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    postgres: PostgresCluster = field(init=False)
    redis: RedisServer = field(init=False)

    def __post_init__(self) -> None:
        self.postgres = PostgresCluster(self.workdir / "pg", port=self.pg_port)
        self.redis = RedisServer(self.workdir, port=self.redis_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def database_url(self) -> str:
        return self.postgres.url(DATABASE)

    def env(self, **extra: str) -> dict[str, str]:
        settings = {
            "DJANGO_BEHIND_PROXY": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "WEB_CONCURRENCY": str(self.workers),
            "CORS_ALLOWED_ORIGINS": ",".join(CORS_ORIGINS),
            "METRICS_TOKEN": METRICS_TOKEN,
            **self.app_env,
            **extra,
        }
        secret = "stack-only-" + "k" * 50
        return production_env(
            allowed_hosts="127.0.0.1,localhost", secret_key=secret, settings=settings
        )

    # --- PostgreSQL and Redis: the harness's throwaway servers -----------------------------
    def start_postgres(self) -> None:
        self.postgres.start()

    def stop_postgres(self) -> None:
        self.postgres.stop()

    # --- the app -------------------------------------------------------------------------
    def migrate(self) -> None:
        manage = [sys.executable, str(REPO / "manage.py")]
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input", "-v", "0"]):
            subprocess.run([*manage, *command], check=True, env=self.env(), cwd=REPO, timeout=300)

    def start_app(self, index: int) -> None:
        port, metrics_dir = self.app_ports[index], self.workdir / f"metrics-{index}"
        self.start_instance(f"app-{index}", port, metrics_dir)

    def start_instance(self, name: str, port: int, metrics_dir: Path, **extra: str) -> None:
        """One gunicorn instance on ``port`` (``extra`` overrides the environment)."""
        env = self.env(HOST="127.0.0.1", PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
        env.update(extra)
        metrics_dir.mkdir(exist_ok=True)
        log = self.workdir / f"{name}.log"
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        argv = [gunicorn, "todo_project.wsgi", "-c", str(REPO / "gunicorn.conf.py")]
        self.processes[name] = process = start(argv, log=log, env=env, cwd=REPO)
        wait_for_http(f"http://127.0.0.1:{port}/api/health", what=name, process=process, log=log)

    def kill_app(self, index: int) -> None:
        """SIGKILL the whole instance (master and workers), as a crash or an OOM kill would."""
        kill(self.processes.pop(f"app-{index}"))

    # --- nginx ---------------------------------------------------------------------------
    def start_nginx(self) -> None:
        site = render_nginx_site(
            listen=self.nginx_port, upstreams=self.app_ports, metrics_listen=self.metrics_port,
            per_ip_rate=self.per_ip_rate, burst=self.per_ip_burst,
        )  # fmt: skip
        log = self.workdir / "nginx.log"
        self.processes["nginx"] = process = start_nginx(self.workdir / "nginx", site, log=log)
        wait_for_http(f"{self.url}/api/health", what="nginx", process=process, log=log)

    # --- all of it -----------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.postgres.init()
            self.start_postgres()
            self.postgres.create_database(DATABASE)
            self.redis.start()
            self.migrate()
            for index in range(len(self.app_ports)):
                self.start_app(index)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """nginx and the app instances (newest first), then Redis and PostgreSQL."""
        for process in reversed(list(self.processes.values())):
            stop(process)
        self.processes.clear()
        self.redis.stop()
        self.stop_postgres()


def mint_token(stack: Stack) -> str:
    # The stack runs with DEBUG off (the production shape); this throwaway token is for you.
    command = [sys.executable, "manage.py", "mint_token", "dev-user", "--minutes", "120"]
    return subprocess.run(
        [*command, "--outside-debug"],
        cwd=REPO, env=stack.env(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="todo-stack-"))
    secret = os.environ.get("BETTER_AUTH_SECRET") or "stack-dev-secret-" + "s" * 32
    try:
        stack = Stack(workdir, app_env={"BETTER_AUTH_SECRET": secret})
    except HarnessError as error:
        sys.exit(f"stack: {error}")
    print(f"stack: starting under {workdir} ...", flush=True)  # noqa: T201
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        token = mint_token(stack)
        print(  # noqa: T201
            f"\nstack: up at {stack.url}  (nginx -> gunicorn :{stack.app_ports[0]} and "
            f":{stack.app_ports[1]} -> PostgreSQL :{stack.pg_port}, Redis :{stack.redis_port})\n"
            f'  curl -H "Authorization: Bearer {token}" {stack.url}/api/dev-user/tasks\n'
            f'  curl -H "Authorization: Bearer {METRICS_TOKEN}" '
            f"http://127.0.0.1:{stack.metrics_port}/metrics/{stack.app_ports[0]}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("stack: a process exited; stopping", file=sys.stderr)  # noqa: T201
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:  # whatever went wrong, leave no process behind
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        print("stack: stopped", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
