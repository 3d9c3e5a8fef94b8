"""Periodic job: delete idempotency records older than the 24-hour replay window (CONTRACT §8)."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from tasks.models import IDEMPOTENCY_WINDOW, IdempotencyRecord


class Command(BaseCommand):
    help = "Delete every user's idempotency records older than 24 hours. Run it hourly (cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - IDEMPOTENCY_WINDOW
        deleted, _ = IdempotencyRecord.unscoped.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Deleted {deleted} expired idempotency record(s).")
