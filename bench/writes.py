"""One task write two ways: UPDATE … RETURNING (what services do) vs lock + update + read.

Figures for the choice documented in ``tasks.services.update_returning``; run by ``make bench``
against its database (``BENCH_DATABASE_URL`` for PostgreSQL).
"""

import os
import time
from collections.abc import Callable

import django

ROUNDS = 2000
USER = "bench-writes"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from django.db import transaction
    from django.db.models import Case, F, Value, When
    from django.utils import timezone

    from tasks import services
    from tasks.models import Task

    task = Task(user_id=USER, title="bench")
    task.save()
    target = Task.objects.for_user(USER).filter(pk=task.pk)

    def returning() -> None:
        toggle = Case(When(completed=True, then=Value(False)), default=Value(True))
        values = {"completed": toggle, "version": F("version") + 1, "updated_at": timezone.now()}
        services.update_returning(target, values)

    def lock_update_read() -> None:
        with transaction.atomic():
            row = target.select_for_update().get()
            target.update(completed=not row.completed, version=row.version + 1)
            target.get()

    ways: list[tuple[str, Callable[[], None]]] = [
        ("UPDATE ... RETURNING", returning),
        ("SELECT FOR UPDATE + UPDATE + SELECT", lock_update_read),
    ]
    try:
        for name, write in ways * 2:  # two rounds: the first warms caches
            start = time.perf_counter()
            for _ in range(ROUNDS):
                write()
            per_write = (time.perf_counter() - start) / ROUNDS * 1000
            print(f"{name:<40} {per_write:7.3f} ms per write")  # noqa: T201
    finally:
        Task.objects.for_user(USER).delete()


if __name__ == "__main__":
    main()
