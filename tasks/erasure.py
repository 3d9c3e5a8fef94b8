"""Erasing a user's data, and keeping it erased (CONTRACT §4, §5).

``erase_user`` deletes everything stored for one user (tasks, idempotency records) in one
transaction and records the time in ``ErasedUser``. Authentication is stateless, so a token
issued before the erasure stays valid until its ``exp``; ``ensure_not_erased``, called at the
start of every create's transaction, refuses such a token. Reads check nothing: an erased user
has nothing to read, and the check would cost every read a query.

Erasure and create take the same per-user lock (``limits.lock_user_tasks``: a
transaction-scoped advisory lock on PostgreSQL, the IMMEDIATE write transaction on SQLite), so a
create that checked before an erasure committed cannot insert after the erasure's DELETE ran.
"""

import datetime
from dataclasses import asdict, dataclass

from django.db import router, transaction
from django.utils import timezone

from authbridge import get_config
from tasks import limits
from tasks.errors import AccountErased
from tasks.models import ErasedUser, IdempotencyRecord, Task


@dataclass(frozen=True, slots=True)
class Erased:
    """What one erasure deleted."""

    tasks: int
    idempotency_records: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def erase_user(user_id: str) -> Erased:
    """Delete every task and idempotency record of ``user_id``; idempotent.

    Also records the erasure (its time is the newest erasure's), so creates with tokens issued
    before it are refused from now on.
    """
    with transaction.atomic(using=router.db_for_write(Task)):
        limits.lock_user_tasks(user_id)
        now = timezone.now()
        if not ErasedUser.objects.for_user(user_id).update(erased_at=now):
            ErasedUser(user_id=user_id, erased_at=now).save()
        records, _ = IdempotencyRecord.objects.for_user(user_id).delete()
        tasks, _ = Task.objects.for_user(user_id).delete()
    return Erased(tasks=tasks, idempotency_records=records)


def erased_at(user_id: str) -> datetime.datetime | None:
    """When ``user_id``'s data was last erased, if ever."""
    try:
        # get(), not first(): one row per user at most, so no ORDER BY to build (LIMIT 21).
        return ErasedUser.objects.for_user(user_id).values_list("erased_at", flat=True).get()
    except ErasedUser.DoesNotExist:
        return None


def ensure_not_erased(user_id: str, *, issued_at: float | None) -> None:
    """Raise AccountErased if ``user_id`` was erased after ``issued_at`` (the token's ``iat``).

    Call it inside the create's transaction, after ``limits.lock_user_tasks``. A token without
    ``iat`` counts as old. The clocks of Better Auth (``iat``) and of this service
    (``erased_at``) may differ by up to the verification leeway, so a token must be issued more
    than that after the erasure.
    """
    when = erased_at(user_id)
    if when is None:
        return
    leeway = get_config().leeway_seconds
    if issued_at is None or issued_at <= when.timestamp() + leeway:
        raise AccountErased
