"""`make bench`: HTTP figures for the production server configuration, as ratios to a floor.

Starts a throwaway PostgreSQL cluster (or uses BENCH_DATABASE_URL, an empty database) and a
throwaway redis-server (or BENCH_REDIS_URL; --no-redis for per-process memory), seeds the
database with `manage.py seed_tasks`, serves the app with gunicorn and `gunicorn.conf.py` as
production runs it (Redis, Prometheus multiprocess mode), and loads it with `wrk`
(bench/rotate.lua rotates tokens over many users, HS256 and EdDSA with a pinned JWKS). Every
round measures each scenario right after a measurement of the bare Ninja floor route; a
scenario's ratio is its req/s over that floor's, and the table shows the median over rounds.
Everything started here is stopped and removed on exit, Ctrl-C or failure. `--quick` gives a
short run; see `--help` for the rest.
"""

import argparse
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jwt
import psycopg
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER_PREFIX = "bench-user-"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KID = "bench-ed25519"
ISSUER = "http://127.0.0.1:3000"  # iss and aud of every token; no server behind it
NEW_TASK = '{"title": "bench", "priority": "high"}'


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the database ---------------------------------------------------------------------------
@contextmanager
def throwaway_cluster(workdir: Path) -> Iterator[str]:
    """initdb + pg_ctl as the postgres user in ``workdir``; stopped and removed on exit."""
    data, port = workdir / "pgdata", free_port()
    workdir.mkdir(mode=0o700)
    shutil.chown(workdir, "postgres", "postgres")
    as_postgres: list[str | Path] = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, PG_BIN / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-N"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB"
    ctl = [*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-l", workdir / "pg.log", "-w"]
    subprocess.run([*ctl, "-o", options, "start"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, capture_output=True)


@contextmanager
def throwaway_redis(workdir: Path) -> Iterator[str]:
    """A redis-server on a free loopback port, nothing saved to disk; stopped on exit."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit(
            "redis-server is not installed: `sudo apt-get install -y redis-server`, or --no-redis"
        )
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", str(workdir)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("redis-server did not start")
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def refuse_non_empty(url: str) -> None:
    with psycopg.connect(url) as conn:
        table = conn.execute("SELECT to_regclass('tasks_task')").fetchone()
        rows = table and table[0] and conn.execute("SELECT 1 FROM tasks_task LIMIT 1").fetchone()
        if rows:
            sys.exit("BENCH_DATABASE_URL must name an empty database: tasks_task has rows")


# --- the server -----------------------------------------------------------------------------
@dataclass
class Server:
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the server exited with {self.process.returncode}; see {self.log}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=1)
                return
            except OSError:
                time.sleep(0.2)
        sys.exit("the server did not answer /api/health within 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

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


# --- tokens and requests --------------------------------------------------------------------
@dataclass(frozen=True)
class Keys:
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    signing_key: ed25519.Ed25519PrivateKey = field(
        default_factory=ed25519.Ed25519PrivateKey.generate
    )

    def jwks(self) -> str:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.signing_key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": KID, "alg": "EdDSA", "use": "sig"}]})

    def token(self, user_id: str, alg: str) -> str:
        now = int(time.time())
        claims = {
            "sub": user_id, "iat": now, "exp": now + 3 * 3600, "email": f"{user_id}@b.test",
            "iss": ISSUER, "aud": ISSUER,
        }  # fmt: skip
        if alg == "HS256":
            return jwt.encode(claims, self.secret, algorithm="HS256")
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers={"kid": KID})


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str  # {user} and {id} are filled per request
    alg: str | None = None  # None: no token
    body: str | None = None


FLOOR = Scenario("floor", "GET", "/bench/floor")
SCENARIOS = {
    s.name: s
    for s in (
        FLOOR,
        Scenario("health", "GET", "/api/health"),
        Scenario("me HS256", "GET", "/api/me", "HS256"),
        Scenario("me EdDSA", "GET", "/api/me", "EdDSA"),
        Scenario("list", "GET", "/api/{user}/tasks?limit=20", "EdDSA"),
        Scenario("get", "GET", "/api/{user}/tasks/{id}", "EdDSA"),
        Scenario("create", "POST", "/api/{user}/tasks", "EdDSA", NEW_TASK),
        Scenario("patch", "PATCH", "/api/{user}/tasks/{id}", "EdDSA", '{"title": "renamed"}'),
        Scenario("toggle", "PATCH", "/api/{user}/tasks/{id}/complete", "EdDSA"),
    )
}  # fmt: skip


def request_lines(
    scenario: Scenario, tokens: dict[str, dict[str, str]], ids: dict[str, list[int]]
) -> list[str]:
    """One tab-separated line per (user, task) pair for bench/rotate.lua."""
    lines = []
    for user, task_ids in ids.items():
        token = tokens[scenario.alg][user] if scenario.alg else "-"
        for task_id in task_ids if "{id}" in scenario.path else task_ids[:1]:
            path = scenario.path.format(user=user, id=task_id)
            lines.append(f"{scenario.method}\t{path}\t{token}\t{scenario.body or '-'}")
    return lines


# --- wrk ------------------------------------------------------------------------------------
@dataclass
class Figures:
    scenario: str
    rows: int
    round: int
    pair: int  # a scenario and the floor measured just before it share a round and a pair
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float
    requests: int
    non_2xx: int
    socket_errors: int


def run_wrk(
    server: Server,
    requests_file: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    close: bool,
) -> tuple[dict[str, Any], float]:
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_CONNECTION_CLOSE": str(int(close)),
    }
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "rotate.lua"), f"http://127.0.0.1:{server.port}",
    ]  # fmt: skip
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    cpu = server.cpu_seconds() - cpu_before
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON ")), cpu


def measure(
    server: Server,
    scenario: Scenario,
    requests_file: Path,
    args: argparse.Namespace,
    rows: int,
    round_: int,
    pair: int,
) -> Figures:
    result, cpu = run_wrk(
        server, requests_file, seconds=args.seconds, connections=args.connections,
        threads=args.wrk_threads, close=args.no_keepalive,
    )  # fmt: skip
    count = max(result["requests"], 1)
    return Figures(
        scenario=scenario.name,
        rows=rows,
        round=round_,
        pair=pair,
        rps=count / (result["duration_us"] / 1e6),
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        cpu_ms_per_request=cpu * 1000 / count,
        requests=result["requests"],
        non_2xx=result["non_2xx"],
        socket_errors=sum(
            result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
    )


# --- the run --------------------------------------------------------------------------------
def manage(env: dict[str, str], *arguments: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *arguments], env=env, cwd=ROOT, check=True)


def settle(url: str) -> None:
    """Do now what PostgreSQL would otherwise do during the measurements, after a bulk COPY:
    set hint bits and the visibility map (autovacuum), statistics, and write dirty pages."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) tasks_task")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:  # BENCH_DATABASE_URL without pg_checkpoint
            say("   (no CHECKPOINT: the database user may not; figures may be noisier)")


def rotated_ids(url: str, users: list[str], per_user: int) -> dict[str, list[int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT user_id, id FROM tasks_task WHERE user_id = ANY(%s) ORDER BY user_id, id",
            (users,),
        ).fetchall()
    ids: dict[str, list[int]] = {user: [] for user in users}
    for user, task_id in rows:
        if len(ids[user]) < per_user:
            ids[user].append(task_id)
    return ids


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    if args.server == "granian":
        return [
            str(ROOT / ".venv" / "bin" / "granian"), "--interface", "wsgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(args.workers or 2), "--blocking-threads",
            str(args.threads or 1), "--no-ws", *shlex.split(args.server_args),
            "--factory", "bench.floor:make_application",
        ]  # fmt: skip
    command = [
        str(GUNICORN),
        "bench.floor:make_application()",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
    ]
    command += ["--bind", f"127.0.0.1:{port}"]
    if args.worker_class:
        command += ["--worker-class", args.worker_class]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return command + shlex.split(args.server_args)


def summarise(figures: list[Figures]) -> list[dict[str, Any]]:
    """Median over rounds per (scenario, rows); each ratio to the floor measured just before."""
    floors = {(f.rows, f.round, f.pair): f for f in figures if f.scenario == FLOOR.name}
    groups: dict[tuple[str, int], list[Figures]] = {}
    for f in figures:
        groups.setdefault((f.scenario, f.rows), []).append(f)
    table = []
    for (name, rows), runs in groups.items():
        table.append(
            {
                "scenario": name,
                "rows": rows,
                "rounds": len(runs),
                "rps": statistics.median(r.rps for r in runs),
                "p50_ms": statistics.median(r.p50_ms for r in runs),
                "p99_ms": statistics.median(r.p99_ms for r in runs),
                "cpu_ms_per_request": statistics.median(r.cpu_ms_per_request for r in runs),
                "non_2xx": sum(r.non_2xx for r in runs),
                "socket_errors": sum(r.socket_errors for r in runs),
                "ratio_to_floor": statistics.median(
                    r.rps / floors[rows, r.round, r.pair].rps for r in runs
                ),
                # the same ratio from server CPU per request: less sensitive to a busy machine
                "cpu_ratio_to_floor": statistics.median(
                    floors[rows, r.round, r.pair].cpu_ms_per_request / r.cpu_ms_per_request
                    for r in runs
                ),
            }
        )
    return table


def print_table(table: list[dict[str, Any]]) -> None:
    head = (
        f"{'scenario':<10} {'rows':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU ms/req':>10} {'non-2xx':>7} {'÷ floor':>7} {'CPU ÷':>6}"
    )
    print(head)
    print("-" * len(head))
    for row in table:
        print(
            f"{row['scenario']:<10} {row['rows']:>9,} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['cpu_ms_per_request']:>10.2f} "
            f"{row['non_2xx'] + row['socket_errors']:>7} {row['ratio_to_floor']:>7.2f} "
            f"{row['cpu_ratio_to_floor']:>6.2f}"
        )


def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small data, one round, short runs (about a minute)"
    )
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 3; quick 1)")
    parser.add_argument("--seconds", type=int, help="seconds per measurement (default 8; quick 3)")
    parser.add_argument(
        "--warmup", type=int, help="seconds of warm-up per scenario (default 2; quick 1)"
    )
    parser.add_argument(
        "--small-users", type=int, help="users in the small data set (default 100; quick 20)"
    )
    parser.add_argument(
        "--large-users", type=int, help="users in the large data set (default 10000; quick 500)"
    )
    parser.add_argument("--per-user", type=int, default=100, help="tasks per user (default 100)")
    parser.add_argument(
        "--rotate", type=int, help="users whose tokens rotate (default 200; quick 20)"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--scenarios", help="comma list (default all): " + ", ".join(SCENARIOS))
    parser.add_argument("--large-only", action="store_true", help="skip the small data set")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn")
    parser.add_argument("--worker-class", help="override gunicorn.conf.py (sync, gthread)")
    parser.add_argument("--workers", type=int, help="override gunicorn.conf.py")
    parser.add_argument("--threads", type=int, help="override gunicorn.conf.py")
    parser.add_argument("--server-args", default="", help='e.g. "--max-requests 0"')
    parser.add_argument(
        "--no-keepalive", action="store_true", help="every request on a new connection"
    )
    parser.add_argument(
        "--no-redis",
        action="store_true",
        help="rate limits in per-process memory instead of a throwaway redis-server",
    )
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default bench/out/…)"
    )
    args = parser.parse_args()
    defaults = {"rounds": (3, 1), "seconds": (8, 3), "warmup": (2, 1), "small_users": (100, 20),
                "large_users": (10_000, 500), "rotate": (200, 20)}  # fmt: skip
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def server_env(
    keys: Keys, database_url: str, *, redis_url: str | None, metrics_dir: Path
) -> dict[str, str]:
    """Production settings (DEBUG off; Redis for the rate limits and the JWKS, Prometheus in
    multiprocess mode), pinned keys for both algorithms."""
    production_parts = {"REDIS_URL": redis_url} if redis_url else {}
    return {
        **production_parts,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        # Counted as in production, never reached: the benchmark measures throughput.
        "RATE_LIMIT_READS": "1000000/min",
        "RATE_LIMIT_WRITES": "1000000/min",
        **os.environ,
        "DJANGO_ENV_FILE": "/dev/null",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "INFO",  # as in production: one log line per request
        "DJANGO_SECRET_KEY": secrets.token_hex(32),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "BETTER_AUTH_SECRET": keys.secret,
        "BETTER_AUTH_JWKS": keys.jwks(),
        "BETTER_AUTH_ISSUER": ISSUER,
        "BETTER_AUTH_AUDIENCE": ISSUER,
        "DATABASE_URL": database_url,
    }


def run_dataset(
    server: Server, scenarios: list[Scenario], args: argparse.Namespace, *, rows: int, tmp: Path,
    tokens: dict[str, dict[str, str]], ids: dict[str, list[int]],
) -> list[Figures]:  # fmt: skip
    """Warm every scenario up, then ``args.rounds`` rounds of (floor, scenario) pairs.

    A floor right before each scenario, not one per round: the machine drifts within a round
    (PostgreSQL's background work, other processes), and a ratio to a floor measured a minute
    earlier carried that drift (docs/PERFORMANCE.md).
    """
    files = {}
    for scenario in scenarios:
        files[scenario.name] = tmp / f"{scenario.name.replace(' ', '-')}.tsv"
        files[scenario.name].write_text("\n".join(request_lines(scenario, tokens, ids)) + "\n")
        run_wrk(
            server, files[scenario.name], seconds=args.warmup, connections=args.connections,
            threads=args.wrk_threads, close=args.no_keepalive,
        )  # fmt: skip
    figures = []
    for round_ in range(args.rounds):
        for pair, scenario in enumerate(s for s in scenarios if s is not FLOOR):
            say(f"   round {round_ + 1}/{args.rounds}: {scenario.name} at {rows:,} rows")
            for measured in (FLOOR, scenario):
                figures.append(
                    measure(server, measured, files[measured.name], args, rows, round_, pair)
                )
    return figures


def benchmark(args: argparse.Namespace, scenarios: list[Scenario], keys: Keys) -> list[Figures]:
    """Start everything, measure, and stop and remove everything (also on Ctrl-C or failure)."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="todo-bench-")))
        tmp.chmod(0o711)  # the postgres user must reach its cluster inside
        url = os.environ.get("BENCH_DATABASE_URL")
        if url:
            refuse_non_empty(url)
        else:
            say("== starting a throwaway PostgreSQL cluster")
            url = stack.enter_context(throwaway_cluster(tmp / "pg"))
        redis_url = None
        if not args.no_redis:
            redis_url = os.environ.get("BENCH_REDIS_URL") or stack.enter_context(
                throwaway_redis(tmp)
            )
        metrics_dir = tmp / "metrics"
        metrics_dir.mkdir()
        env = server_env(keys, url, redis_url=redis_url, metrics_dir=metrics_dir)
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        port = free_port()
        server = Server(server_command(args, port), env, tmp / "server.log", port)
        stack.callback(server.stop)
        say(f"== server: {' '.join(server.command)}")
        server.start()

        users = [f"{USER_PREFIX}{i:05d}" for i in range(args.rotate)]
        tokens = {alg: {u: keys.token(u, alg) for u in users} for alg in ("HS256", "EdDSA")}
        datasets = [] if args.large_only else [(args.small_users, [FLOOR, SCENARIOS["list"]])]
        datasets.append((args.large_users, scenarios))
        seeded, figures = 0, []
        for total_users, runs in datasets:
            rows = total_users * args.per_user
            say(f"== seeding up to {rows:,} tasks")
            manage(
                env, "seed_tasks", "--users", str(total_users - seeded), "--per-user",
                str(args.per_user), "--first", str(seeded), "--prefix", USER_PREFIX,
            )  # fmt: skip
            seeded = total_users
            settle(url)
            ids = rotated_ids(url, users, per_user=20)
            figures += run_dataset(server, runs, args, rows=rows, tmp=tmp, tokens=tokens, ids=ids)
        return figures


def main() -> None:
    args = parse_args()
    if not shutil.which("wrk"):
        sys.exit(
            "wrk is not installed: `sudo apt-get install -y wrk` (Debian/Ubuntu), "
            "`brew install wrk` (macOS)"
        )
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scenarios = [FLOOR] + [SCENARIOS[n] for n in names if n != FLOOR.name]
    # SystemExit unwinds the ExitStack in benchmark(), so SIGTERM cleans up as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    started = time.gmtime()
    figures = benchmark(args, scenarios, Keys())
    table = summarise(figures)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", started),
        "command": " ".join(sys.argv),
        "machine": machine(),
        "server": server_command(args, 0)[1:],
        "keepalive": not args.no_keepalive,
        "redis": not args.no_redis,
        "connections": args.connections,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "per_user": args.per_user,
        "rotated_users": args.rotate,
        "table": table,
        "runs": [asdict(f) for f in figures],
    }
    default_name = time.strftime("bench-%Y%m%d-%H%M%S.json", started)
    path = args.json or ROOT / "bench" / "out" / default_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    box = report["machine"]
    load = box["load_average"][0]
    print(f"# {report['date']} · {box['cpu']}, {box['cores']} cores · load {load:.1f}")
    keepalive = "on" if report["keepalive"] else "off"
    limits = "per-process memory" if args.no_redis else "Redis"
    print(
        f"# {report['command']} · wrk {args.connections} connections, {args.seconds:g} s, "
        f"median of {args.rounds} rounds, keep-alive {keepalive}, rate limits in {limits}"
    )
    print_table(table)
    say(f"== figures written to {path}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: everything the benchmark started is stopped and removed")
