"""Parallel creates against a SQLite file, as production serves SQLite; run in its own process.

``python -m tests.tasks.sqlite_burst DB_PATH SCENARIO`` migrates DB_PATH, runs the scenario and
prints one JSON line. tests/tasks/test_task_cap_sqlite.py runs it: the test database of a pytest
run on SQLite lives in memory with a shared cache, where writers fail at once instead of waiting
for each other, so a race there says nothing about a real deployment. Settings come from the
environment the test passes (settings.py's own SQLite options: IMMEDIATE, WAL, busy timeout).

Scenarios: ``burst`` and ``burst-keys`` (PROCESSES x THREADS creates at cap - 1, without and
with an Idempotency-Key), ``locked`` (creates while another connection holds the write lock).
The burst forks processes, as gunicorn's workers are: threads of one process take turns on the
GIL, which hides most races on SQLite (the old count-then-insert passed a threads-only burst).
"""

import json
import multiprocessing
import sqlite3
import sys
import threading
import time
import uuid
from typing import Any

import django
import jwt

PROCESSES = 4
THREADS = 10  # per process
ISSUER = "http://127.0.0.1:3999"  # tests.conftest.TEST_ISSUER; this process imports no pytest


def token(user_id: str, secret: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 900, "iss": ISSUER, "aud": ISSUER}
    return jwt.encode(claims, secret, algorithm="HS256")


def post(user_id: str, headers: dict[str, Any], key: str | None = None) -> tuple[int, Any, str]:
    from django.test import Client

    extra: dict[str, Any] = {**headers, **({"HTTP_IDEMPOTENCY_KEY": key} if key else {})}
    response = Client(raise_request_exception=False).post(
        f"/api/{user_id}/tasks", {"title": "burst"}, content_type="application/json", **extra
    )
    return response.status_code, response.json(), response.get("Retry-After", "")


def burst(user_id: str, headers: dict[str, Any], *, with_keys: bool) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from tasks.models import Task

    for _ in range(settings.TASKS_PER_USER_MAX - 1):
        assert post(user_id, headers)[0] == 201
    connection.close()  # the forked workers open their own
    forked = multiprocessing.get_context("fork")
    barrier = forked.Barrier(PROCESSES * THREADS)
    answers = forked.Queue()

    def thread() -> None:
        try:
            barrier.wait(timeout=20)
            answers.put(post(user_id, headers, uuid.uuid4().hex if with_keys else None))
        except BaseException as exc:  # reported as an answer: the test shows it
            answers.put((0, {"detail": repr(exc)}, ""))
        finally:
            connection.close()  # each thread had its own connection

    def worker() -> None:
        threads = [threading.Thread(target=thread) for _ in range(THREADS)]
        for each in threads:
            each.start()
        for each in threads:
            each.join(timeout=60)

    started = time.perf_counter()
    workers = [forked.Process(target=worker) for _ in range(PROCESSES)]
    for each in workers:
        each.start()
    got = [answers.get(timeout=60) for _ in range(PROCESSES * THREADS)]
    for each in workers:
        each.join(timeout=60)
    return {
        "statuses": sorted(status for status, _, _ in got),
        "details": sorted({body["detail"] for status, body, _ in got if status != 201}),
        "stored": Task.objects.for_user(user_id).count(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def locked(db_path: str, user_id: str, headers: dict[str, Any]) -> dict[str, Any]:
    """Another process's writer holds the lock past the busy timeout: 503, then 201 after it."""
    from django.db import connection

    connection.settings_dict["OPTIONS"]["timeout"] = 0.2  # not settings.py's 20 s: a quick test
    connection.close()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        during = post(user_id, headers)
        from django.test import Client

        listed = Client().get(f"/api/{user_id}/tasks", **headers).status_code  # WAL: reads go on
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    after = post(user_id, headers)
    return {"during": during, "list_during": listed, "after": after[0]}


def main(db_path: str, scenario: str) -> None:
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    bearer = f"Bearer {token(user_id, settings.BETTER_AUTH_SECRET)}"
    headers = {"HTTP_AUTHORIZATION": bearer, "HTTP_HOST": "127.0.0.1"}
    if scenario == "locked":
        result = locked(db_path, user_id, headers)
    else:
        result = burst(user_id, headers, with_keys=scenario == "burst-keys")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
