"""System checks of the tasks app: configuration the task cap's lock relies on (tasks.limits)."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

WRITE_LOCKING_MODES = {"IMMEDIATE", "EXCLUSIVE"}
HINT = 'Set OPTIONS["transaction_mode"] = "IMMEDIATE", as todo_project/settings.py does.'


def sqlite_write_lock_errors(databases: Mapping[str, Mapping[str, Any]]) -> list[CheckMessage]:
    """On SQLite the cap holds only if a transaction takes the write lock when it begins."""
    errors: list[CheckMessage] = []
    for alias, database in databases.items():
        if database.get("ENGINE") != "django.db.backends.sqlite3":
            continue
        mode = str(database.get("OPTIONS", {}).get("transaction_mode") or "DEFERRED").upper()
        if mode not in WRITE_LOCKING_MODES:
            message = (
                f"DATABASES[{alias!r}] is SQLite with transaction_mode {mode}: parallel "
                "creates could pass TASKS_PER_USER_MAX."
            )
            errors.append(Error(message, hint=HINT, id="tasks.E001"))
    return errors


@register("tasks")  # not Tags.database: those run only when asked for
def sqlite_transactions_take_the_write_lock(**kwargs: Any) -> list[CheckMessage]:
    return sqlite_write_lock_errors(settings.DATABASES)
