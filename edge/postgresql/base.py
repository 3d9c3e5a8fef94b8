"""Django's PostgreSQL backend, with psycopg's own (C) loader for ``timestamptz``.

Django 5.2 registers a loader of its own for ``timestamptz`` on every connection (a subclass of
psycopg's pure-Python one, ``BaseTzLoader``), so every timestamp read is parsed in Python even
when psycopg's C implementation (psycopg-binary) is installed: a tenth of a list page's CPU
(docs/PERFORMANCE.md, round two). psycopg's C loader is final and cannot be subclassed (psycopg
issue 1273, Django ticket 36960). With ``USE_TZ`` and no database ``TIME_ZONE`` the session time
zone is ``UTC`` (Django sets it on connect) and psycopg's loader answers aware datetimes in
``datetime.UTC``: exactly what Django's answers. Then, and only then, this backend puts
psycopg's loader back. Configured as ``ENGINE = "edge.postgresql"`` (settings).
"""

import datetime
from typing import Any, cast

from django.db.backends.postgresql import base
from psycopg import adapt, adapters
from psycopg.abc import AdaptContext
from psycopg.adapt import Loader
from psycopg.pq import Format

# psycopg's loader as psycopg registers it: the C one when its C implementation is installed.
PSYCOPG_TZ_LOADER = cast(
    type[Loader], adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
)


class UTCTimestamptzLoader:
    """psycopg's ``timestamptz`` loader, with the ``timezone`` attribute Django compares.

    Django's ``create_cursor`` reads ``timezone`` from the connection's loader and registers
    its own on the cursor when it differs; the C class has no attributes to add, so this class
    carries it and hands out psycopg's loader itself.
    """

    format = Format.TEXT
    timezone = datetime.UTC

    def __new__(cls, oid: int, context: AdaptContext | None = None) -> Loader:  # type: ignore[misc]
        return PSYCOPG_TZ_LOADER(oid, context)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.timezone is datetime.UTC:  # USE_TZ and no TIME_ZONE: the session is in UTC
            context = adapt.AdaptersMap(params["context"])
            context.register_loader("timestamptz", cast(type[Loader], UTCTimestamptzLoader))
            params["context"] = context
        return params
