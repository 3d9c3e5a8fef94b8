"""The per-user cap on stored tasks (TASKS_PER_USER_MAX, CONTRACT §5): 409 past it.

Counting and then inserting is only a decision if no other create of the same user can run in
between: ``lock_user_tasks`` makes the caller's transaction the user's only creating one until
it ends. PostgreSQL: a transaction-scoped advisory lock on a 64-bit hash of the user id (other
users are not held back; a hash collision only makes two users wait for each other). SQLite:
the transaction itself, begun ``IMMEDIATE`` (settings.py), holds the database's single write
lock from its first statement, so there is nothing more to take. Deletes need no lock: they
only make room, and the count runs under the lock, so nothing can drift (no counter to keep).
"""

import hashlib

from django.conf import settings
from django.db import connections, router

from tasks.errors import TooManyTasks
from tasks.models import Task

# Which kind of lock this is, so another use of advisory locks on the database cannot share keys.
LOCK_NAMESPACE = b"tasks.cap\x00"


def user_lock_key(user_id: str) -> int:
    """A stable signed 64-bit key for ``user_id`` (pg_advisory_xact_lock takes a bigint)."""
    digest = hashlib.blake2b(LOCK_NAMESPACE + user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_user_tasks(user_id: str) -> None:
    """Wait until no other transaction is creating tasks for ``user_id``; held until commit.

    Call it inside ``transaction.atomic()``, before reading anything the decision depends on.
    """
    connection = connections[router.db_for_write(Task)]
    if not connection.in_atomic_block:
        raise RuntimeError("lock_user_tasks needs a transaction: it ends with it")  # a bug
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [user_lock_key(user_id)])


def ensure_room_for_task(user_id: str) -> None:
    """Raise TooManyTasks when ``user_id`` already stores the maximum number of tasks.

    Only a decision under ``lock_user_tasks``: without it a parallel create can pass too.
    """
    limit = settings.TASKS_PER_USER_MAX
    # Is there a limit-th task? SELECT … LIMIT 1 OFFSET limit - 1 reads at most `limit` index
    # entries however many there are, as a capped count would, and costs less CPU to build
    # than COUNT(*) over a LIMIT subquery (docs/PERFORMANCE.md, round two: the write paths).
    if Task.objects.for_user(user_id)[limit - 1 :].exists():
        raise TooManyTasks(
            f"You already have {limit} tasks, the most one user can store. "
            "Delete some (e.g. clear completed) before creating more."
        )
