"""Load a running gunicorn over loopback: bounded request counts, figures printed, no asserts.

Used by `make bench` (bench/run.sh starts gunicorn on 127.0.0.1 with a throwaway database).
"""

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import jwt


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: Callable[[int], str]
    body: Callable[[int], bytes | None]


def token_for(secret: str, user_id: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 3600, "email": f"{user_id}@example.com"}
    return jwt.encode(claims, secret, algorithm="HS256")


def run(
    host: str, port: int, scenario: Scenario, *, requests: int, clients: int, token: str
) -> None:
    local = threading.local()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(host, port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        local.conn.request(
            scenario.method, scenario.path(i), body=scenario.body(i), headers=headers
        )
        reply = local.conn.getresponse()
        reply.read()
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            statuses[reply.status] = statuses.get(reply.status, 0) + 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(  # noqa: T201 - a benchmark prints its figures
        f"{scenario.name:<28} {requests / wall:8.0f} req/s   "
        f"p50 {cuts[49] * 1000:6.2f} ms  p95 {cuts[94] * 1000:6.2f} ms  "
        f"p99 {cuts[98] * 1000:6.2f} ms   statuses {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    user = "bench-user"
    token = token_for(args.secret, user)
    new_task = json.dumps({"title": "benchmark task", "priority": "high"}).encode()
    scenarios = [
        Scenario("GET /api/health", "GET", lambda i: "/api/health", lambda i: None),
        Scenario("GET /api/me (HS256)", "GET", lambda i: "/api/me", lambda i: None),
        Scenario("POST /api/{u}/tasks", "POST", lambda i: f"/api/{user}/tasks", lambda i: new_task),
        Scenario(
            "GET /api/{u}/tasks?limit=50",
            "GET",
            lambda i: f"/api/{user}/tasks?limit=50",
            lambda i: None,
        ),
        Scenario(
            "PATCH .../tasks/{id}/complete",
            "PATCH",
            lambda i: f"/api/{user}/tasks/{1 + i % 100}/complete",
            lambda i: None,
        ),
    ]
    print(f"# {args.requests} requests per scenario, {args.clients} concurrent keep-alive clients")  # noqa: T201
    for scenario in scenarios:
        run(
            "127.0.0.1",
            args.port,
            scenario,
            requests=args.requests,
            clients=args.clients,
            token=token,
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
