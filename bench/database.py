"""The benchmark's database: refuse a used one, settle it after seeding, pick task ids."""

import sys

import psycopg

from bench import say


def refuse_non_empty(url: str) -> None:
    with psycopg.connect(url) as conn:
        table = conn.execute("SELECT to_regclass('tasks_task')").fetchone()
        rows = table and table[0] and conn.execute("SELECT 1 FROM tasks_task LIMIT 1").fetchone()
        if rows:
            sys.exit("BENCH_DATABASE_URL must name an empty database: tasks_task has rows")


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
