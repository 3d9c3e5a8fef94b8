"""`make bench` (`python -m bench.run`): HTTP figures for the production server configuration, as
ratios to a floor.

Starts a throwaway PostgreSQL cluster (or uses BENCH_DATABASE_URL, an empty database) and a
throwaway redis-server (or BENCH_REDIS_URL; --no-redis for per-process memory), seeds the
database with `manage.py seed_tasks`, serves the app with gunicorn and `gunicorn.conf.py` as
production runs it (Redis, Prometheus multiprocess mode), and loads it with `wrk`
(bench/rotate.lua rotates tokens over many users, HS256 and EdDSA with a pinned JWKS). Every
round measures each scenario right after a measurement of the bare Ninja floor route
(bench/floor.py); a scenario's ratio is its req/s over that floor's, and the table shows the
median over rounds.
Everything started here is stopped and removed on exit, Ctrl-C or failure. `--quick` gives a
short run; see `--help` for the rest.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from bench import say
from bench.database import refuse_non_empty, rotated_ids, settle
from bench.figures import Figures, machine, print_table, summarise
from bench.scenarios import FLOOR, SCENARIOS, USER_PREFIX, Keys, Scenario, request_lines
from bench.server import (
    ROOT,
    Server,
    ensure_tools,
    manage,
    server_command,
    server_env,
    throwaway_cluster,
    throwaway_redis,
)
from bench.wrk import measure, run_wrk
from scripts.harness import HarnessError, free_port


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    ensure_tools(
        database=not os.environ.get("BENCH_DATABASE_URL"),
        redis=not (args.no_redis or os.environ.get("BENCH_REDIS_URL")),
    )
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    scenarios = [FLOOR] + [SCENARIOS[n] for n in names if n != FLOOR.name]
    # SystemExit unwinds the ExitStack in benchmark(), so SIGTERM cleans up as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    started = time.gmtime()
    try:
        figures = benchmark(args, scenarios, Keys())
    except HarnessError as error:  # a server that did not start: its log's tail says why
        sys.exit(f"bench: {error}")
    table = summarise(figures)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", started),
        "command": " ".join(["python -m bench.run", *sys.argv[1:]]),
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
