"""Profile one API route in process: `python bench/profile_route.py /api/me --token-user u`.

Runs the request ``--repeat`` times through Django's handler (the project's middleware
included) under cProfile and prints the functions with the most cumulative and own time.
Point DATABASE_URL at a database seeded with `manage.py seed_tasks` for the task routes.
Figures are per request; no server, no network, so they show where the CPU goes, not req/s.
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import django
import jwt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", help="e.g. /api/seed-user-00001/tasks?limit=20")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None)
    parser.add_argument("--user", default="seed-user-00001", help="the token's sub")
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    django.setup()
    from django.conf import settings
    from django.test import Client

    now = int(time.time())
    claims = {"sub": args.user, "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, settings.BETTER_AUTH_SECRET, algorithm="HS256")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call() -> int:
        response = client.generic(
            args.method, args.path, args.body or "", content_type="application/json"
        )
        return int(response.status_code)

    status = call()  # warm up (connection, URL resolver, schema caches)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.repeat):
        call()
    profiler.disable()
    each = (time.perf_counter() - started) / args.repeat
    print(f"{args.method} {args.path}: status {status}, {each * 1e6:.0f} µs per request (profiled)")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
