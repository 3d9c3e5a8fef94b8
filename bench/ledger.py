"""What each part of the stack costs per request, in process: `python bench/ledger.py`.

For each route it measures the CPU per request through the project's own WSGI application
(the benchmark's floor route included, no HTTP server) with everything on, and again with
one part taken out at a time: the request log and the Prometheus metrics (two middlewares,
edge.requestlog and edge.metrics, each taken out of MIDDLEWARE), the rate limits, the
connection health check; with ``--take-out dotted.Middleware`` also any other MIDDLEWARE
entry. The difference is that part's cost. Every configuration runs in a fresh process
(middleware is loaded once per process), the configurations alternate over ``--rounds``, and
each figure is a median.

Point DATABASE_URL at a PostgreSQL database seeded with `manage.py seed_tasks --users 100
--per-user 100` (writes change its rows), and REDIS_URL at a Redis to count the limits there
as production does. Figures are CPU, not req/s: they add up, where a loaded server's do not.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ISSUER = "http://127.0.0.1:3000"
USER = "seed-user-00001"
WRITER = "seed-user-00002"  # creates go to another user, so the list measured stays the same

# The configurations: everything, then one part taken out (take_out() says how).
PARTS = ("everything", "no request log", "no metrics", "no rate limits", "no health check")
# The parts that are one middleware each, taken out of settings.MIDDLEWARE.
MIDDLEWARE_PARTS = {
    "no request log": "edge.requestlog.RequestLogMiddleware",
    "no metrics": "edge.metrics.MetricsMiddleware",
}
ROUTES = {
    "floor": ("GET", "/bench/floor", ""),
    "health": ("GET", "/api/health", ""),
    "me": ("GET", "/api/me", ""),
    "get": ("GET", "/api/{user}/tasks/{id}", ""),
    "list": ("GET", "/api/{user}/tasks?limit=20", ""),
    "toggle": ("PATCH", "/api/{user}/tasks/{id}/complete", ""),
    # The same body every time: after the first it changes nothing (the version stays), but
    # each one still runs the whole UPDATE … RETURNING, as a changing PATCH does.
    "patch": ("PATCH", "/api/{user}/tasks/{id}", '{"title": "ledger patch", "priority": "low"}'),
    "create": ("POST", "/api/{writer}/tasks", '{"title": "ledger", "priority": "high"}'),
}


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "todo_project.settings",
        "DJANGO_ENV_FILE": "/dev/null",
        "DJANGO_DEBUG": "0",
        "DJANGO_LOG_LEVEL": "INFO",  # the request line is written, as in production
        "DJANGO_SECRET_KEY": "ledger-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "BETTER_AUTH_SECRET": "ledger-secret-" + "s" * 32,
        "BETTER_AUTH_ISSUER": ISSUER,
        "BETTER_AUTH_AUDIENCE": ISSUER,
        "RATE_LIMIT_READS": "1000000/min",  # counted, never reached
        "RATE_LIMIT_WRITES": "1000000/min",
        "TASKS_PER_USER_MAX": "1000000",
    }


def take_out(part: str) -> None:
    """Remove one part; runs after django.setup(), before the WSGI application is built."""
    from django.conf import settings

    if part in MIDDLEWARE_PARTS:
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PARTS[part]]
    elif part.removeprefix("no ") in settings.MIDDLEWARE:  # --take-out
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != part.removeprefix("no ")]
    elif part == "no rate limits":
        from edge.throttles import PerUserThrottle

        PerUserThrottle.allow_request = lambda self, request: True  # type: ignore[method-assign]
    elif part == "no health check":
        settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] = False


def child(part: str, routes: list[str], repeat: int) -> None:
    """Print {route: CPU µs per request} as JSON for one configuration."""
    sys.path.insert(0, str(ROOT))
    import django
    import jwt

    django.setup()
    take_out(part)
    from django.conf import settings

    from bench.floor import make_application
    from tasks.models import Task

    application = make_application()
    now = int(time.time())
    tokens = {
        user: jwt.encode(
            {"sub": user, "iat": now, "exp": now + 3600, "iss": ISSUER, "aud": ISSUER},
            settings.BETTER_AUTH_SECRET,
            algorithm="HS256",
        )
        for user in (USER, WRITER)
    }
    task_id = Task.objects.for_user(USER).values_list("id", flat=True).first()
    if task_id is None:
        sys.exit(f"no tasks for {USER}: seed the database with manage.py seed_tasks")
    statuses: list[str] = []

    def call(method: str, path: str, body: bytes, token: str) -> None:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
        }  # fmt: skip
        result = application(
            environ, lambda status, headers, exc_info=None: statuses.append(status)
        )
        b"".join(result)
        getattr(result, "close", lambda: None)()

    figures = {}
    for name in routes:
        method, template, text = ROUTES[name]
        path, body = template.format(user=USER, writer=WRITER, id=task_id), text.encode()
        token = tokens[WRITER if "{writer}" in template else USER]
        for _ in range(50):  # warm up: connections, caches, the token cache
            call(method, path, body, token)
        if not statuses[-1].startswith("2"):
            sys.exit(f"{name}: {statuses[-1]}")
        batches = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(repeat):
                call(method, path, body, token)
            batches.append((time.process_time() - started) / repeat * 1e6)
        figures[name] = statistics.median(batches)
    Task.objects.for_user(WRITER).filter(title="ledger").delete()
    print(json.dumps(figures))


def scale_to_floor(runs: dict[str, list[dict[str, float]]]) -> dict[str, list[dict[str, float]]]:
    """Each process's figures times (the median floor of every process ÷ its own floor).

    No part reaches the floor route (bench/floor.py answers it before Django), so a process
    whose floor costs more ran slower as a whole (where it landed in memory, what ran beside
    it): between fresh processes that spread reached ±30 %, more than most parts cost. Scaling
    by the floor measured in the same process takes it out.
    """
    floors = [run["floor"] for part_runs in runs.values() for run in part_runs]
    reference = statistics.median(floors)
    return {
        part: [{r: v * reference / run["floor"] for r, v in run.items()} for run in part_runs]
        for part, part_runs in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=100, help="requests per timed batch")
    parser.add_argument("--routes", default=",".join(ROUTES))
    parser.add_argument(
        "--take-out",
        action="append",
        default=[],
        metavar="MIDDLEWARE",
        help="one more configuration: without this MIDDLEWARE entry (dotted path; repeatable)",
    )
    parser.add_argument(
        "--parts", help='only these parts taken out, comma-separated; "" for none (everything runs)'
    )
    parser.add_argument(
        "--raw", action="store_true", help="do not scale each process's figures by its floor"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    routes = args.routes.split(",")
    chosen = PARTS[1:] if args.parts is None else [p for p in args.parts.split(",") if p]
    parts = ["everything", *chosen, *(f"no {m}" for m in args.take_out)]
    if args.child:
        child(args.child, routes, args.repeat)
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must point at a seeded PostgreSQL database (see --help)")
    runs: dict[str, list[dict[str, float]]] = {part: [] for part in parts}
    for round_ in range(args.rounds):
        for part in parts:
            print(f"   round {round_ + 1}/{args.rounds}: {part}", file=sys.stderr)
            done = subprocess.run(
                [sys.executable, __file__, "--child", part, "--routes", args.routes,
                 "--repeat", str(args.repeat)],
                env=child_env(), cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode:
                sys.exit(f"{part}: {done.stderr.strip().splitlines()[-1]}")
            runs[part].append(json.loads(done.stdout.strip().splitlines()[-1]))
    scaled = "floor" in routes and not args.raw
    if scaled:
        runs = scale_to_floor(runs)
    median = {
        part: {r: statistics.median(run[r] for run in runs[part]) for r in routes} for part in parts
    }
    redis = "Redis" if os.environ.get("REDIS_URL") else "per-process memory"
    print(f"# CPU µs per request in process, median of {args.rounds} rounds; limits in {redis}")
    if scaled:
        print("# each process's figures scaled by its own floor (see scale_to_floor; --raw: not)")
    others = [p for p in parts if p != "everything"]
    # A middleware's column is headed "no " and its class name: "no SecurityMiddleware".
    heads = [f"no {p.rsplit('.')[-1]}" if "." in p else p for p in others]
    width = max([17, *(len(head) + 2 for head in heads)])
    print(f"{'route':8}{'everything':>11}" + "".join(f"{head:>{width}}" for head in heads))
    for r in routes:
        full = median["everything"][r]
        cells = "".join(
            f"{f'{full - median[p][r]:+.0f} ({(full - median[p][r]) / full:.0%})':>{width}}"
            for p in others
        )
        print(f"{r:8}{full:>11.0f}{cells}")
    print("(a part's column: what taking it out saved, µs and share of everything)")


if __name__ == "__main__":
    main()
