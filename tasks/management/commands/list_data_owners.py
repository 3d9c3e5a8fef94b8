"""``manage.py list_data_owners``: every user id that owns data here, one per line, sorted.

For reconciliation with Better Auth's user table: the ids printed here that Better Auth no longer
knows are accounts deleted without erasure; feed them to ``erase_user_data --stdin``.
"""

from typing import Any

from django.core.management.base import BaseCommand

from tasks.models import IdempotencyRecord, Task


class Command(BaseCommand):
    help = "Print every user id that owns tasks or idempotency records, one per line, sorted."

    def handle(self, *args: Any, **options: Any) -> None:
        owners = Task.unscoped.order_by().values_list("user_id", flat=True).distinct()
        records = IdempotencyRecord.unscoped.order_by().values_list("user_id", flat=True)
        for user_id in sorted(set(owners.iterator()) | set(records.distinct().iterator())):
            self.stdout.write(user_id)
