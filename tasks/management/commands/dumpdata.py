"""Django's dumpdata, reading through base managers (``--all``) by default.

``Task.objects`` and ``IdempotencyRecord.objects`` refuse a query without a user, so a dump
reads every user's rows through the base manager (``unscoped``), as ``--all`` asks Django to.
"""

from django.core.management.base import CommandParser
from django.core.management.commands import dumpdata


class Command(dumpdata.Command):
    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(use_base_manager=True)
