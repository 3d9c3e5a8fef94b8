"""The production topology on one machine, on loopback: nginx -> two gunicorn instances ->
PostgreSQL and Redis, each our own throwaway process under one temporary directory.

    python scripts/stack.py          # `make stack`: prints the URL and a token; Ctrl-C stops all

tests/ops/test_stack.py drives the same ``Stack`` under faults. Needs Debian's nginx,
redis-server and PostgreSQL server binaries; run as root, PostgreSQL runs as ``postgres``.
"""

# ruff: noqa: S603  # every command is a fixed binary with our own paths and ports as arguments
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "nginx-todo-api.conf.template"
BEHIND_LB_TEMPLATE = REPO / "deploy" / "nginx-todo-api-behind-lb.conf.template"
CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")  # the example frontend
METRICS_TOKEN = "stack-metrics-token-" + "m" * 24  # scrape: nginx's internal listener
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
START_TIMEOUT_SECONDS = 30.0
PG_USER = "postgres"


class StackError(RuntimeError):
    """Something the stack needs is missing or did not start; the message says what."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool], *, what: str, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise StackError(f"{what} did not come up within {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # loopback only
            return bool(response.status == 200)
    except OSError:
        return False


def find_binary(name: str, *extra_dirs: str) -> str:
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise StackError(f"{name} is not installed (Debian: apt-get install -y {PACKAGES[name]})")
    return found


PACKAGES = {
    "nginx": "nginx",
    "redis-server": "redis-server",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
}


def postgres_bin_dirs() -> list[str]:
    return sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)


def render_nginx_site(
    *,
    listen: int,
    upstreams: list[int],
    per_ip_rate: str,
    burst: int,
    metrics_listen: int,
    cors_origins: tuple[str, ...] = CORS_ORIGINS,
    admin_allow: tuple[str, ...] = ("127.0.0.1",),
    metrics_allow: tuple[str, ...] = ("127.0.0.1",),
    balancer_range: str | None = None,
) -> str:
    """A shipped template with our values, like ``envsubst`` with a list of variables:
    the balancer variant when ``balancer_range`` is given, else the direct one."""
    values = {
        "TODO_LISTEN": f"127.0.0.1:{listen}",
        "TODO_SERVER_NAME": "127.0.0.1 localhost",
        "TODO_UPSTREAMS": " ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        "TODO_PER_IP_RATE": per_ip_rate,
        "TODO_PER_IP_BURST": str(burst),
        "TODO_CORS_ORIGINS": " ".join(f'"{origin}" 1;' for origin in cors_origins),
        "TODO_ADMIN_ALLOW": " ".join(f"allow {address};" for address in admin_allow),
        "TODO_METRICS_LISTEN": f"127.0.0.1:{metrics_listen}",
        "TODO_METRICS_ALLOW": " ".join(f"allow {address};" for address in metrics_allow),
        "TODO_METRICS_INSTANCES": " ".join(f"{port} 127.0.0.1:{port};" for port in upstreams),
        "TODO_BALANCER_RANGE": balancer_range or "",
    }
    template = BEHIND_LB_TEMPLATE if balancer_range else TEMPLATE
    return re.sub(r"\$\{(TODO_[A-Z_]+)\}", lambda m: values[m[1]], template.read_text())


def start_nginx(prefix: Path, site: str, *, log: Path) -> "subprocess.Popen[bytes]":
    """nginx in the foreground with ``site`` as its only site, everything under ``prefix``."""
    nginx = find_binary("nginx")
    prefix.mkdir(exist_ok=True)
    prefix.chmod(0o777)  # nginx workers run as nobody and keep request bodies here
    (prefix / "todo-api.conf").write_text(site)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log stderr warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {prefix}/{kind};\n" for kind in TEMP_KINDS)
        + f"  include {prefix}/todo-api.conf;\n}}\n"
    )
    return subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def database_url(self) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.pg_port}/todo"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_ENV_FILE": os.devnull,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "stack-only-" + "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_BEHIND_PROXY": "1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "WEB_CONCURRENCY": str(self.workers),
            "CORS_ALLOWED_ORIGINS": ",".join(CORS_ORIGINS),
            "METRICS_TOKEN": METRICS_TOKEN,
        }
        env.update(self.app_env)
        env.update(extra)
        return env

    # --- PostgreSQL: our own cluster, run as the postgres user when we are root -------------
    def _as_postgres(self, *args: str) -> list[str]:
        return ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else list(args)

    def _pg(self, *args: str) -> None:
        pg_ctl = find_binary("pg_ctl", *postgres_bin_dirs())
        command = self._as_postgres(pg_ctl, "-D", str(self.workdir / "pg"), *args)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60)

    def init_postgres(self) -> None:
        data = self.workdir / "pg"
        data.mkdir()
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
            os.chown(data, user.pw_uid, user.pw_gid)
        initdb = find_binary("initdb", *postgres_bin_dirs())
        command = self._as_postgres(initdb, "-D", str(data), "-U", PG_USER, "--auth=trust")
        subprocess.run([*command, "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL, timeout=120)

    def start_postgres(self) -> None:
        options = f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -k {self.workdir}"
        self._pg("-o", options, "-l", str(self.workdir / "pg.log"), "-w", "start")

    def stop_postgres(self) -> None:
        self._pg("-m", "fast", "-w", "stop")

    def create_database(self) -> None:
        psql = find_binary("psql", *postgres_bin_dirs())
        sql = "CREATE DATABASE todo"
        command = [psql, "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", PG_USER, "-c", sql]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=30)

    # --- Redis ---------------------------------------------------------------------------
    def start_redis(self) -> None:
        binary = find_binary("redis-server")
        args = [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.processes["redis"] = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        wait_until(lambda: port_open(self.redis_port), what="redis-server")

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
        log = (self.workdir / f"{name}.log").open("ab")
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.processes[name] = subprocess.Popen(
            [gunicorn, "todo_project.wsgi", "-c", str(REPO / "gunicorn.conf.py")],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/api/health"), what=name)

    def kill_app(self, index: int) -> None:
        """SIGKILL the whole instance (master and workers), as a crash or an OOM kill would."""
        process = self.processes.pop(f"app-{index}")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    # --- nginx ---------------------------------------------------------------------------
    def start_nginx(self) -> None:
        site = render_nginx_site(
            listen=self.nginx_port, upstreams=self.app_ports, metrics_listen=self.metrics_port,
            per_ip_rate=self.per_ip_rate, burst=self.per_ip_burst,
        )  # fmt: skip
        log = self.workdir / "nginx.log"
        self.processes["nginx"] = start_nginx(self.workdir / "nginx", site, log=log)
        wait_until(lambda: http_ok(f"{self.url}/api/health"), what="nginx")

    # --- all of it -----------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.init_postgres()
            self.start_postgres()
            self.create_database()
            self.start_redis()
            self.migrate()
            for index in range(len(self.app_ports)):
                self.start_app(index)
            self.start_nginx()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if isinstance(process.args, list) and str(process.args[0]).endswith("gunicorn"):
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        if (self.workdir / "pg" / "postmaster.pid").exists():
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
    stack = Stack(workdir, app_env={"BETTER_AUTH_SECRET": secret})
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
