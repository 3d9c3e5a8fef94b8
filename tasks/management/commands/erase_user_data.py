"""``manage.py erase_user_data ID [ID ...]`` or ``... --stdin``: erase users' data, print counts.

The same erasure as ``DELETE /api/{user_id}/account`` (tasks.erasure): each user's tasks and
idempotency records go in one transaction per user, and the erasure is recorded, so tokens issued
before it can no longer create. For a reconciliation job fed from Better Auth's user table (ids
of deleted accounts on standard input, one per line; blank lines are skipped, and an empty input
is a run with nothing to do). Ids are checked before anything is erased.
"""

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks.erasure import erase_user
from tasks.fields import USER_ID_MAX_LENGTH


def user_ids(lines: Iterable[str]) -> list[str]:
    """Stripped, non-empty, each once, in the order given."""
    return list(dict.fromkeys(line.strip() for line in lines if line.strip()))


class Command(BaseCommand):
    help = "Erase the tasks and idempotency records of the given user ids; print what went."
    stealth_options = ("input_stream",)  # call_command(..., input_stream=...) in tests

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_ids", nargs="*", metavar="USER_ID", help="Better Auth user ids")
        parser.add_argument(
            "--stdin",
            action="store_true",
            dest="from_stdin",
            help="also read user ids from standard input, one a line",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given = user_ids(options["user_ids"])
        if options["from_stdin"]:
            given = user_ids([*given, *(options.get("input_stream") or sys.stdin)])
        if not given and not options["from_stdin"]:  # an empty input is a job with no work
            raise CommandError("name at least one user id, or pass --stdin and give them there")
        for user_id in given:
            if len(user_id) > USER_ID_MAX_LENGTH or not user_id.isprintable():
                raise CommandError(f"not a user id: {user_id[:80]!r}; nothing was erased")
        total_tasks = total_records = 0
        for user_id in given:
            erased = erase_user(user_id)
            total_tasks += erased.tasks
            total_records += erased.idempotency_records
            self.stdout.write(
                f"{user_id}: erased {erased.tasks} task(s), "
                f"{erased.idempotency_records} idempotency record(s)"
            )
        self.stdout.write(
            f"Erased {len(given)} user(s): {total_tasks} task(s), "
            f"{total_records} idempotency record(s)."
        )
