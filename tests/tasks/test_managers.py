"""The default managers refuse a query without a user; Django's own machinery keeps working."""

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.shortcuts import get_object_or_404

from tasks.models import IdempotencyRecord, Task, UnscopedQueryError
from tests.tasks.conftest import TaskFactory

pytestmark = pytest.mark.django_db

UNSCOPED_WAYS: list[Any] = [
    pytest.param(lambda: Task.objects.all(), id="objects.all"),
    pytest.param(lambda: Task.objects.filter(user_id="ann"), id="objects.filter"),
    pytest.param(lambda: Task.objects.count(), id="objects.count"),
    pytest.param(lambda: Task.objects.get(pk=1), id="objects.get"),
    pytest.param(lambda: Task.objects.using("default"), id="objects.using"),
    pytest.param(lambda: get_object_or_404(Task, pk=1), id="get_object_or_404"),
    pytest.param(lambda: Task._default_manager.all(), id="_default_manager"),
    pytest.param(lambda: Task._meta.default_manager.all(), id="_meta.default_manager"),  # type: ignore[union-attr]
    pytest.param(lambda: apps.get_model("tasks", "Task").objects.all(), id="apps.get_model"),
    pytest.param(lambda: IdempotencyRecord.objects.all(), id="record.objects.all"),
    pytest.param(lambda: IdempotencyRecord._default_manager.count(), id="record.default"),
]


@pytest.mark.parametrize("unscoped", UNSCOPED_WAYS)
def test_the_default_manager_refuses_a_query_without_a_user(
    make_task: TaskFactory, unscoped: Callable[[], Any]
) -> None:
    make_task(user_id="ann")
    with pytest.raises(UnscopedQueryError, match=r"for_user\(user_id\)"):
        unscoped()


def test_for_user_and_unscoped_by_name(make_task: TaskFactory) -> None:
    ann, bob = make_task(user_id="ann"), make_task(user_id="bob")
    assert list(Task.objects.for_user("ann")) == [ann]
    assert set(Task.unscoped.all()) == {ann, bob}
    assert Task._base_manager is Task.unscoped
    assert IdempotencyRecord._base_manager is IdempotencyRecord.unscoped


@pytest.mark.parametrize("user_id", ["", None])
def test_for_user_needs_a_user(user_id: str | None) -> None:
    with pytest.raises(ValueError, match="user id is required"):
        Task.objects.for_user(user_id)  # type: ignore[arg-type]


def test_save_refresh_and_delete_use_the_base_manager(make_task: TaskFactory) -> None:
    task = make_task(title="before")
    Task.objects.for_user(task.user_id).filter(pk=task.pk).update(title="elsewhere")
    task.refresh_from_db()
    assert task.title == "elsewhere"
    task.title = "saved"
    task.save()  # an UPDATE through the base manager, not an INSERT
    assert Task.unscoped.get().title == "saved"
    task.delete()
    assert not Task.unscoped.exists()


def test_model_validation(make_task: TaskFactory) -> None:
    task = make_task()
    task.full_clean()
    task.title = "x" * 201
    with pytest.raises(ValidationError, match="at most 200"):
        task.full_clean()


def record(user_id: str, key: str = "k") -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=user_id, key=key, request_hash="h", task_id=1, snapshot={"id": 1}, etag='"1-1"'
    )


def test_idempotency_record_validation_checks_the_key_within_the_user() -> None:
    record("ann").save()
    record("bob").full_clean()
    record("ann", key="other").full_clean()
    with pytest.raises(ValidationError, match="User id and Key already exists"):
        record("ann").full_clean()
    saved = IdempotencyRecord.objects.for_user("ann").get()
    saved.full_clean()  # itself is not a duplicate


def test_dumpdata_and_loaddata_round_trip(make_task: TaskFactory, tmp_path: Any) -> None:
    make_task(user_id="ann", title="one")
    make_task(user_id="bob", title="two")
    record("ann").save()
    out = io.StringIO()
    call_command("dumpdata", "tasks", stdout=out)
    dumped = json.loads(out.getvalue())
    assert sorted(row["model"] for row in dumped) == [
        "tasks.idempotencyrecord", "tasks.task", "tasks.task",
    ]  # fmt: skip
    Task.unscoped.all().delete()
    IdempotencyRecord.unscoped.all().delete()
    fixture = tmp_path / "tasks.json"
    fixture.write_text(out.getvalue())
    call_command("loaddata", str(fixture), verbosity=0)
    assert sorted(Task.unscoped.values_list("user_id", "title")) == [("ann", "one"), ("bob", "two")]
    assert IdempotencyRecord.objects.for_user("ann").count() == 1


def test_migrations_see_the_same_managers() -> None:
    """Data migrations get the scoped managers too (use_in_migrations), so they name unscoped."""
    executor = MigrationExecutor(connection)
    state = executor.loader.project_state(("tasks", "0004_scoped_managers_and_snapshot"))
    historical = state.apps.get_model("tasks", "Task")
    historical(user_id="ann", title="from a migration").save()
    assert historical.unscoped.count() == 1
    assert historical.objects.for_user("ann").count() == 1
    with pytest.raises(UnscopedQueryError):
        historical.objects.all()


def test_makemigrations_finds_nothing_to_do() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_migrating_back_and_forth_keeps_the_rows(make_task: TaskFactory) -> None:
    task = make_task(user_id="ann", title="kept")
    record("ann").save()
    call_command("migrate", "tasks", "0003", verbosity=0)
    call_command("migrate", "tasks", verbosity=0)
    assert Task.objects.for_user("ann").get().pk == task.pk
    assert IdempotencyRecord.objects.for_user("ann").get().snapshot == {"id": 1}
