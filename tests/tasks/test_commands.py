"""Management commands of the tasks app: the periodic purge and a dumpdata that works."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from tasks.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def record(user_id: str, *, age: datetime.timedelta) -> None:
    IdempotencyRecord(
        user_id=user_id, key=f"k-{age}", request_hash="h", task_id=1, snapshot={"id": 1},
        etag='"1-1"', created_at=timezone.now() - age,
    ).save()  # fmt: skip


def test_purge_deletes_every_users_expired_records_only() -> None:
    day = datetime.timedelta(hours=24)
    record("ann", age=day + datetime.timedelta(minutes=1))
    record("bob", age=day * 3)
    record("ann", age=day - datetime.timedelta(minutes=1))
    out = io.StringIO()
    call_command("purge_idempotency_records", stdout=out)
    assert out.getvalue().strip() == "Deleted 2 expired idempotency record(s)."
    remaining = IdempotencyRecord.unscoped.values_list("user_id", "key")
    assert list(remaining) == [("ann", f"k-{day - datetime.timedelta(minutes=1)}")]
    call_command("purge_idempotency_records", stdout=out)
    assert out.getvalue().strip().endswith("Deleted 0 expired idempotency record(s).")
