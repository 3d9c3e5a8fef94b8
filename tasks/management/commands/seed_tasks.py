"""``manage.py seed_tasks --users N --per-user M``: bulk test data for ``make bench``.

Users are named ``<prefix><index>`` (``seed-user-00000`` …). Each user's tasks mix every
priority, both states, tasks with and without a due date, and distinct creation times, so
every ordering and filter has work to do. PostgreSQL gets ``COPY`` (a million rows in well
under a minute); other databases get ``bulk_create``. Rows go in batches, all in one
transaction, with a progress bar on stderr; PostgreSQL's statistics are refreshed at the end.
"""

import datetime
import sys
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from tasks.models import Priority, Task

COLUMNS = (
    "user_id", "title", "description", "completed", "priority",
    "due_date", "created_at", "updated_at", "version",
)  # fmt: skip
PRIORITIES = tuple(p.value for p in Priority)
BAR_WIDTH = 30


def user_name(prefix: str, index: int) -> str:
    return f"{prefix}{index:05d}"


def task_rows(
    *, prefix: str, first: int, users: int, per_user: int, now: datetime.datetime
) -> Iterator[tuple[Any, ...]]:
    """One tuple per task in COLUMNS order; each user's newest task comes last."""
    today = now.date()
    for index in range(first, first + users):
        user_id = user_name(prefix, index)
        for n in range(per_user):
            created = now - datetime.timedelta(minutes=per_user - n, microseconds=index)
            due = None if n % 4 == 0 else today + datetime.timedelta(days=n % 60 - 20)
            priority = PRIORITIES[n % len(PRIORITIES)]
            title = f"Task {n} of {user_id}"
            yield (user_id, title, "", n % 2 == 1, priority, due, created, created, 1)


class Command(BaseCommand):
    help = "Insert --users x --per-user tasks for benchmarks (bulk, in batches)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, required=True)
        parser.add_argument("--per-user", type=int, required=True)
        parser.add_argument("--first", type=int, default=0, help="index of the first user")
        parser.add_argument("--prefix", default="seed-user-", help="user ids start with this")
        parser.add_argument("--batch-size", type=int, default=20_000)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        users, per_user, batch = options["users"], options["per_user"], options["batch_size"]
        if users < 1 or per_user < 1 or batch < 1 or options["first"] < 0:
            self.stderr.write("--users, --per-user and --batch-size must be at least 1")
            sys.exit(2)
        total = users * per_user
        rows = task_rows(
            prefix=options["prefix"],
            first=options["first"],
            users=users,
            per_user=per_user,
            now=timezone.now(),
        )
        insert = self._copy if connection.vendor == "postgresql" else self._bulk_create
        started = time.monotonic()
        done = 0
        with transaction.atomic():
            while done < total:
                size = min(batch, total - done)
                insert([next(rows) for _ in range(size)])
                done += size
                if not options["no_progress"]:
                    self._progress(done, total, time.monotonic() - started)
        if not options["no_progress"]:
            self.stderr.write("")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(Task._meta.db_table)}")
        seconds = time.monotonic() - started
        self.stdout.write(f"seeded {total:,} tasks for {users:,} users in {seconds:.1f} s")

    def _copy(self, batch: list[tuple[Any, ...]]) -> None:
        table = connection.ops.quote_name(Task._meta.db_table)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in batch:
                copy.write_row(row)

    def _bulk_create(self, batch: list[tuple[Any, ...]]) -> None:
        Task.unscoped.bulk_create(
            [Task(**dict(zip(COLUMNS, row, strict=True))) for row in batch], batch_size=500
        )

    def _progress(self, done: int, total: int, seconds: float) -> None:
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        rate = done / seconds if seconds else 0.0
        self.stderr.write(f"\r[{bar}] {done:,}/{total:,} tasks, {rate:,.0f}/s", ending="")
        self.stderr.flush()
