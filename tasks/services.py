"""Writes needing more than one ORM call: conditional writes (If-Match), toggle, idempotent create.

Every function takes the caller's already user-scoped ``TaskQuerySet`` or the token's user id;
none of them can reach another user's rows. Updates are single UPDATE statements guarded by the
version, so concurrent writers never lose an update and a stale ``If-Match`` changes nothing.
"""

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja.errors import HttpError

from tasks import limits
from tasks.models import IdempotencyRecord, Task, TaskQuerySet
from tasks.schemas import TaskOut

IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)
PRECONDITION_FAILED = "The task has changed: If-Match does not match its current ETag."
KEY_REUSED = "This Idempotency-Key was already used with a different request body."
# Versions and ids are bigints: 18 digits always fit, so a crafted tag cannot overflow a query.
_STRONG_TAG = re.compile(r'"(?P<task_id>\d{1,18})-(?P<version>\d{1,18})"')


@dataclass(frozen=True, slots=True)
class Created:
    """A 201 answer: what POST returns the first time and replays for the same key."""

    body: dict[str, Any]
    task_id: int
    etag: str


def etag_for(task: Task) -> str:
    """A strong validator: the version changes with every write, unlike timestamps' precision."""
    return f'"{task.pk}-{task.version}"'


def matching_versions(if_match: str, *, task_id: int) -> set[int] | None:
    """The versions of ``task_id`` an If-Match header names; ``None`` means ``*`` (any)."""
    if if_match.strip() == "*":
        return None
    tags = (_STRONG_TAG.fullmatch(tag.strip()) for tag in if_match.split(","))
    # Weak tags (W/"…") never match: If-Match uses the strong comparison (RFC 9110 §13.1.1).
    return {int(m["version"]) for m in tags if m and int(m["task_id"]) == task_id}


def _precondition(if_match: str | None, *, task_id: int) -> Q:
    versions = None if if_match is None else matching_versions(if_match, task_id=task_id)
    return Q() if versions is None else Q(version__in=versions)


def _write(
    *, tasks: TaskQuerySet, task_id: int, if_match: str | None, values: dict[str, Any]
) -> Task:
    """One conditional UPDATE, then the row as it is now; 404 if missing, 412 if stale."""
    target = tasks.filter(pk=task_id)
    if target.filter(_precondition(if_match, task_id=task_id)).update(**values):
        return get_object_or_404(target)
    get_object_or_404(target)  # raises 404 when the task is missing (or another user's)
    raise HttpError(HTTPStatus.PRECONDITION_FAILED, PRECONDITION_FAILED)


def _with_bump(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` plus a new version and timestamp, but only for a row where a value differs."""
    unchanged = Q()
    for name, value in fields.items():
        unchanged &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    return {
        **fields,
        "version": Case(When(unchanged, then=F("version")), default=F("version") + 1),
        "updated_at": Case(When(unchanged, then=F("updated_at")), default=Value(timezone.now())),
    }


def update_task(
    *, tasks: TaskQuerySet, task_id: int, fields: dict[str, Any], if_match: str | None
) -> Task:
    """PUT and PATCH: set ``fields`` atomically; a write that changes nothing keeps the ETag."""
    if not fields:
        task = get_object_or_404(tasks.filter(pk=task_id))
        versions = None if if_match is None else matching_versions(if_match, task_id=task_id)
        if versions is not None and task.version not in versions:
            raise HttpError(HTTPStatus.PRECONDITION_FAILED, PRECONDITION_FAILED)
        return task
    return _write(tasks=tasks, task_id=task_id, if_match=if_match, values=_with_bump(fields))


def complete_task(
    *, tasks: TaskQuerySet, task_id: int, completed: bool | None, if_match: str | None
) -> Task:
    """``completed=None`` toggles inside the UPDATE, so concurrent toggles all count."""
    if completed is not None:
        values = _with_bump({"completed": completed})
    else:
        values = {
            "completed": Case(When(completed=True, then=Value(False)), default=Value(True)),
            "version": F("version") + 1,
            "updated_at": timezone.now(),
        }
    return _write(tasks=tasks, task_id=task_id, if_match=if_match, values=values)


def delete_task(*, tasks: TaskQuerySet, task_id: int, if_match: str | None) -> None:
    target = tasks.filter(pk=task_id)
    deleted, _ = target.filter(_precondition(if_match, task_id=task_id)).delete()
    if not deleted:
        get_object_or_404(target)
        raise HttpError(HTTPStatus.PRECONDITION_FAILED, PRECONDITION_FAILED)


def _insert(*, user_id: str, fields: dict[str, Any]) -> Created:
    limits.ensure_room_for_task(user_id)  # after any replay: a retried create still answers 201
    task = Task(user_id=user_id, **fields)
    task.save()
    body = TaskOut.model_validate(task).model_dump(mode="json")
    return Created(body=body, task_id=task.pk, etag=etag_for(task))


def request_hash(body: bytes) -> str:
    """SHA-256 of the JSON body with keys sorted: the same data in another layout is the same."""
    canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, user_id: str, key: str, digest: str) -> Created | None:
    cutoff = timezone.now() - IDEMPOTENCY_WINDOW
    records = IdempotencyRecord.objects.for_user(user_id)
    record = records.filter(key=key, created_at__gte=cutoff).first()
    if record is None:
        return None
    if record.request_hash != digest:
        raise HttpError(HTTPStatus.CONFLICT, KEY_REUSED)
    return Created(body=record.response_body, task_id=record.task_id, etag=record.etag)


def create_task(
    *, user_id: str, fields: dict[str, Any], key: str | None = None, body: bytes = b""
) -> Created:
    """Insert a task; with ``key``, at most once per user, key and 24 hours (CONTRACT §8)."""
    if key is None:
        return _insert(user_id=user_id, fields=fields)
    digest = request_hash(body)
    if replayed := _replay(user_id=user_id, key=key, digest=digest):
        return replayed
    try:
        with transaction.atomic():
            cutoff = timezone.now() - IDEMPOTENCY_WINDOW
            IdempotencyRecord.objects.for_user(user_id).filter(created_at__lt=cutoff).delete()
            created = _insert(user_id=user_id, fields=fields)
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                request_hash=digest,
                task_id=created.task_id,
                response_body=created.body,
                etag=created.etag,
            ).save()
    except IntegrityError:
        # A concurrent request with the same key committed first; our task was rolled back.
        replayed = _replay(user_id=user_id, key=key, digest=digest)
        if replayed is None:
            raise
        return replayed
    return created
