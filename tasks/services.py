"""Writes needing more than one ORM call: conditional writes, toggle, idempotent create.

Every function takes the token's user id (``user_id``) and domain values, and reaches rows only
through ``Task.objects.for_user(user_id)``: none can touch another user's. Updates are single
``UPDATE … RETURNING`` statements guarded by the version, so concurrent writers never lose an
update, a stale precondition (``versions``: what ``tasks.conditional`` read from If-Match)
changes nothing, and each answer is the row exactly as its own write left it. Refusals are the
domain's errors (``tasks.errors``); ``tasks.api`` turns them into HTTP.
"""

import datetime
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from tasks import erasure, limits
from tasks.conditional import Versions, etag_for
from tasks.errors import IdempotencyKeyReused, PreconditionFailed, TaskNotFound
from tasks.managers import TaskQuerySet
from tasks.models import IDEMPOTENCY_WINDOW, IdempotencyRecord, Task


@dataclass(frozen=True, slots=True)
class Created:
    """A created task: the first time, or the first answer replayed for the same key."""

    task: Task
    etag: str


def _precondition(versions: Versions) -> Q:
    return Q() if versions is None else Q(version__in=versions)


def update_returning(tasks: TaskQuerySet, values: Mapping[str, Any]) -> list[Task]:
    """``tasks.update(**values)`` answering with the rows as this very statement left them.

    Django 5.2 has no queryset-level RETURNING for updates, so the UPDATE is compiled the way
    ``QuerySet.update`` compiles it and Django's own INSERT … RETURNING clause is appended; the
    returned columns go through the fields' database converters and ``Model.from_db``, as
    ``SQLInsertCompiler.execute_sql`` and a normal read do. Measured with bench/writes.py
    (``make bench``; 2,000 sequential toggles of one row, two rounds, on a 2-core machine shared
    with other test runs, so the spread is wide). PostgreSQL 15 over loopback: this one statement
    5.4 to 7.6 ms per write, SELECT … FOR UPDATE + UPDATE + SELECT in one transaction 8.8 to
    12.5 ms (two more round trips, the row lock held across them). SQLite: 2.1 to 3.3 ms either
    way (no row locks; one commit each). Reading the rows through ``tasks.raw()`` instead costs
    more CPU per write (docs/PERFORMANCE.md, round two: the write paths).
    """
    using = router.db_for_write(Task)
    connection = connections[using]
    # chain(klass) returns a klass instance; the stubs only know it as a Query.
    query = cast(UpdateQuery, tasks.query.chain(UpdateQuery))
    query.add_update_values(dict(values))
    compiler = query.get_compiler(using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # e.g. version__in=set(): an If-Match no version can satisfy
        return []
    fields = Task._meta.concrete_fields
    returning, returning_params = connection.ops.return_insert_columns(fields)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} {returning}", (*params, *returning_params))
        rows: Iterable[list[Any]] = cursor.fetchall()
    # Typed as a read types them (SQLite: aware timestamps, dates, booleans from 0/1).
    converters = compiler.get_converters([field.get_col(Task._meta.db_table) for field in fields])
    if converters:
        rows = compiler.apply_converters(rows, converters)
    names = [field.attname for field in fields]
    return [Task.from_db(using, names, row) for row in rows]


def _write(*, user_id: str, task_id: int, versions: Versions, values: dict[str, Any]) -> Task:
    """One conditional UPDATE … RETURNING; TaskNotFound if missing, PreconditionFailed if stale."""
    target = Task.objects.for_user(user_id).filter(pk=task_id)
    written = update_returning(target.filter(_precondition(versions)), values)
    if written:
        return written[0]
    if not target.exists():
        raise TaskNotFound
    raise PreconditionFailed


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
    *, user_id: str, task_id: int, fields: dict[str, Any], versions: Versions = None
) -> Task:
    """PUT and PATCH: set ``fields`` atomically; a write that changes nothing keeps the version."""
    if not fields:
        task = Task.objects.for_user(user_id).filter(pk=task_id).first()
        if task is None:
            raise TaskNotFound
        if versions is not None and task.version not in versions:
            raise PreconditionFailed
        return task
    return _write(user_id=user_id, task_id=task_id, versions=versions, values=_with_bump(fields))


def complete_task(
    *, user_id: str, task_id: int, completed: bool | None, versions: Versions = None
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
    return _write(user_id=user_id, task_id=task_id, versions=versions, values=values)


def _forget_deleted_tasks(user_id: str) -> None:
    """Drop the user's idempotency records whose task is gone: they hold a copy of its text.

    Deliberately outside the delete's transaction: any record left behind by a failure here is an
    orphan the user's next delete removes, so one statement per delete suffices.
    """
    existing = Task.objects.for_user(user_id).values("pk")
    IdempotencyRecord.objects.for_user(user_id).exclude(task_id__in=existing).delete()


def delete_task(*, user_id: str, task_id: int, versions: Versions = None) -> None:
    target = Task.objects.for_user(user_id).filter(pk=task_id)
    deleted, _ = target.filter(_precondition(versions)).delete()
    if deleted:
        _forget_deleted_tasks(user_id)
        return
    if not target.exists():
        raise TaskNotFound
    raise PreconditionFailed


def clear_completed(*, user_id: str) -> int:
    """Delete the user's completed tasks (and their idempotency records); how many went."""
    deleted, _ = Task.objects.for_user(user_id).completed().delete()
    if deleted:
        _forget_deleted_tasks(user_id)
    return deleted


def snapshot(task: Task) -> dict[str, Any]:
    """The task's stored values as JSON (dates in ISO format, microseconds kept)."""
    values = {field.attname: field.value_from_object(task) for field in Task._meta.concrete_fields}
    return {
        name: value.isoformat() if isinstance(value, datetime.date) else value
        for name, value in values.items()
    }


def restore(data: Mapping[str, Any], *, user_id: str) -> Task:
    """The unsaved Task a snapshot describes (records from before 0004 hold TaskOut's shape)."""
    fields = {f.attname: f for f in Task._meta.concrete_fields}
    values = {name: fields[name].to_python(value) for name, value in data.items() if name in fields}
    return Task(**{"user_id": user_id, **values})


def fingerprint(fields: Mapping[str, Any]) -> str:
    """SHA-256 of the validated fields, keys sorted: the same data in any layout is the same."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _insert(*, user_id: str, fields: Mapping[str, Any]) -> Created:
    """Count and insert under the user's lock (``tasks.limits``): the cap holds however many
    creates run at once. The caller's transaction holds the lock until it commits."""
    limits.ensure_room_for_task(user_id)
    task = Task(user_id=user_id, **fields)
    task.save()
    return Created(task=task, etag=etag_for(task))


def _replay(*, user_id: str, key: str, digest: str, cutoff: datetime.datetime) -> Created | None:
    records = IdempotencyRecord.objects.for_user(user_id)
    record = records.filter(key=key, created_at__gte=cutoff).first()
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyKeyReused
    return Created(task=restore(record.snapshot, user_id=user_id), etag=record.etag)


def create_task(
    *,
    user_id: str,
    fields: Mapping[str, Any],
    key: str | None = None,
    issued_at: float | None = None,
) -> Created:
    """Insert a task; with ``key``, at most once per user, key and 24 hours (CONTRACT §8).

    One transaction per create, which starts by taking the user's lock
    (``limits.lock_user_tasks``, shared with erasure): the erasure check, the cap's count and
    the insert are one decision. ``issued_at``: the token's ``iat`` (None: unknown, counts as
    old); a user erased after it gets AccountErased (tasks.erasure).
    """
    if key is None:
        with transaction.atomic():
            limits.lock_user_tasks(user_id)
            erasure.ensure_not_erased(user_id, issued_at=issued_at)
            return _insert(user_id=user_id, fields=fields)
    digest = fingerprint(fields)
    # A retry of a create that has committed answers without waiting for the lock.
    if replayed := _replay(user_id=user_id, key=key, digest=digest, cutoff=_window_start()):
        return replayed
    try:
        with transaction.atomic():
            limits.lock_user_tasks(user_id)
            erasure.ensure_not_erased(user_id, issued_at=issued_at)
            cutoff = _window_start()
            # Under the lock, a retry that raced its first request finds the record the first
            # one committed, and replays it before the cap is counted: 201, never 409.
            if replayed := _replay(user_id=user_id, key=key, digest=digest, cutoff=cutoff):
                return replayed
            IdempotencyRecord.objects.for_user(user_id).filter(created_at__lt=cutoff).delete()
            created = _insert(user_id=user_id, fields=fields)
            IdempotencyRecord(
                user_id=user_id,
                key=key,
                request_hash=digest,
                task_id=created.task.pk,
                snapshot=snapshot(created.task),
                etag=created.etag,
            ).save()
    except IntegrityError:
        # Only a record written without the lock can collide; the first answer stands.
        replayed = _replay(user_id=user_id, key=key, digest=digest, cutoff=_window_start())
        if replayed is None:
            raise
        return replayed
    return created


def _window_start() -> datetime.datetime:
    """Records created before this are outside the 24-hour window (CONTRACT §8)."""
    return timezone.now() - IDEMPOTENCY_WINDOW
