"""EXPLAIN ANALYZE of the list's query for every ordering and status (PostgreSQL).

`DATABASE_URL=postgres://… python bench/explain.py [--user seed-user-00042]` against a
database seeded with `manage.py seed_tasks`; prints each plan as PostgreSQL gives it.
"""

import argparse
import os
import sys
import typing
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--user", default="seed-user-00042")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--orderings", help="comma list (default: every one)")
    parser.add_argument("--statuses", default="all,pending,completed")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    django.setup()
    from django.db.models import Count, Window

    from tasks.models import PAGE_FIELDS, Task
    from tasks.schemas import Ordering

    orderings = args.orderings.split(",") if args.orderings else typing.get_args(Ordering)
    for status in args.statuses.split(","):
        for ordering in orderings:
            tasks = Task.objects.for_user(args.user).with_status(status).ordered_by(ordering)
            page = tasks.annotate(total=Window(Count("*"))).values(*PAGE_FIELDS, "total")
            plan = page[: args.limit].explain(analyze=True, buffers=True)
            print(f"### status={status} ordering={ordering}\n{plan}\n")


if __name__ == "__main__":
    main()
