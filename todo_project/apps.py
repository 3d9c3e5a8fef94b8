import logging

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

from edge.counters import check_counter

logger = logging.getLogger("todo_project.settings")


class TodoProjectConfig(AppConfig):
    """The project package as an app: the edge's system checks, and what must run once logging
    is configured."""

    name = "todo_project"
    verbose_name = "Todo API project"

    def ready(self) -> None:
        checks.register(check_counter)
        announce_env_file()


def announce_env_file() -> None:
    """One WARNING line when settings took variables from a .env file and DEBUG is off.

    Production should be configured by its real environment, and a stray file on the server
    should not change settings silently: the line names the file and the variables, never a
    value.
    """
    path = getattr(settings, "ENV_FILE_LOADED", "")
    names = getattr(settings, "ENV_FILE_NAMES", [])
    if settings.DEBUG or not path:
        return
    logger.warning(
        "settings read %s with DJANGO_DEBUG off: %s taken from it (values not shown). "
        "Set them in the real environment and DJANGO_ENV_FILE=/dev/null.",
        path,
        ", ".join(names) or "no variable",
    )
