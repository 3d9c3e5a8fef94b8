"""The create path (tasks.services.create_task): its cost before and after the per-user lock.

Figures for the choice documented in ``tasks.limits`` and docs/PERFORMANCE.md ("The create
path"); run by ``make bench-creates`` against the migrated database ``DATABASE_URL`` names. The
tasks it creates belong to throwaway ``bench-creates-…`` users and are deleted at the end.

Sequential: CREATES creates one after another, four ways: before (count then insert, two
autocommit statements, no lock; with a key: the old transaction, no lock) and now (the locked
transaction, without and with an Idempotency-Key). Parallel: THREADS threads (one connection
each) creating PER_THREAD tasks, all for one user (the lock makes them take turns) or each for
its own user. Every figure is the median over ROUNDS rounds, the ways interleaved in each
round, so a busy machine's drift spreads over all of them; the statements per create are
counted too (they do not drift).
"""

import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable

import django

ROUNDS = 7
CREATES = 300
THREADS = 8
PER_THREAD = 50
FIELDS = {"title": "bench", "description": "", "priority": "medium", "due_date": None}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from tasks import limits, services
    from tasks.conditional import etag_for
    from tasks.models import IdempotencyRecord, Task

    settings.TASKS_PER_USER_MAX = 10**9  # the count still runs; it never refuses here
    run = uuid.uuid4().hex[:8]
    users: list[str] = []

    def new_user() -> str:
        users.append(f"bench-creates-{run}-{len(users)}")
        return users[-1]

    def count_then_insert(user_id: str) -> None:  # what create_task did before issue 19
        limits.ensure_room_for_task(user_id)
        Task(user_id=user_id, **FIELDS).save()

    def key_before(user_id: str) -> None:  # the Idempotency-Key path before issue 19
        key = uuid.uuid4().hex
        cutoff = services._window_start()
        records = IdempotencyRecord.objects.for_user(user_id)
        records.filter(key=key, created_at__gte=cutoff).first()  # the replay look-up: none
        with transaction.atomic():
            records.filter(created_at__lt=cutoff).delete()
            limits.ensure_room_for_task(user_id)
            task = Task(user_id=user_id, **FIELDS)
            task.save()
            IdempotencyRecord(
                user_id=user_id, key=key, request_hash="0" * 64, task_id=task.pk,
                snapshot=services.snapshot(task), etag=etag_for(task),
            ).save()  # fmt: skip

    def locked(user_id: str) -> None:
        services.create_task(user_id=user_id, fields=FIELDS)

    def locked_with_key(user_id: str) -> None:
        services.create_task(user_id=user_id, fields=FIELDS, key=uuid.uuid4().hex)

    ways: list[tuple[str, Callable[[str], None]]] = [
        ("no key: count + insert (before)", count_then_insert),
        ("no key: lock + count + insert (now)", locked),
        ("key: no lock (before)", key_before),
        ("key: lock, replay, count, insert (now)", locked_with_key),
    ]

    def parallel(create: Callable[[str], None], *, same_user: bool) -> float:
        shared = new_user()
        own = [shared if same_user else new_user() for _ in range(THREADS)]
        barrier = threading.Barrier(THREADS + 1)

        def worker(user_id: str) -> None:
            barrier.wait()
            for _ in range(PER_THREAD):
                create(user_id)
            connection.close()

        threads = [threading.Thread(target=worker, args=(user,)) for user in own]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        return THREADS * PER_THREAD / (time.perf_counter() - start)

    print(f"{connection.vendor}: {CREATES} sequential creates per way and round, {ROUNDS} rounds")
    try:
        for name, create in ways:
            with CaptureQueriesContext(connection) as statements:
                create(new_user())
            print(f"  {name:<40} {len(statements)} statements")
        times: dict[str, list[float]] = {name: [] for name, _ in ways}
        for _ in range(ROUNDS):
            for name, create in ways:
                user = new_user()
                start = time.perf_counter()
                for _ in range(CREATES):
                    create(user)
                times[name].append((time.perf_counter() - start) / CREATES * 1000)
        for name, per_create in times.items():
            low, median = min(per_create), statistics.median(per_create)
            print(f"  {name:<40} median {median:6.2f} ms, best {low:6.2f} ms per create")
        print(f"{THREADS} threads x {PER_THREAD} creates, creates per second (median, best)")
        rates: dict[tuple[str, bool], list[float]] = {}
        for _ in range(ROUNDS):
            for name, create in ways[:2]:
                for same_user in (True, False):
                    rate = parallel(create, same_user=same_user)
                    rates.setdefault((name, same_user), []).append(rate)
        for (name, same_user), got in rates.items():
            whose = "one user" if same_user else "a user each"
            print(f"  {name:<40} {whose:<12} {statistics.median(got):6.0f} {max(got):6.0f}")
    finally:
        for user in users:
            Task.objects.for_user(user).delete()
            IdempotencyRecord.objects.for_user(user).delete()


if __name__ == "__main__":
    main()
