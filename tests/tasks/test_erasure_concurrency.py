"""Erasure racing creates on PostgreSQL: no task created with an old token outlives the erasure.

A create checks for an erasure at the start of its transaction; without a lock shared with the
erasure, a create that checked just before an erasure committed could insert after the erasure's
DELETE ran, and its task would outlive the account.
"""

import threading
import time
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from tasks import erasure, limits, services
from tasks.errors import AccountErased
from tasks.models import Task
from tests.conftest import TokenFactory
from tests.tasks.conftest import TasksApi
from tests.tasks.test_concurrency import in_parallel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite runs one write transaction at a time")


@pytest.fixture
def user_id() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


def test_an_erasure_waits_for_a_create_that_already_checked(user_id: str) -> None:
    finished = threading.Event()
    erased: list[erasure.Erased] = []

    def erase() -> None:
        try:
            erased.append(erasure.erase_user(user_id))
        finally:
            finished.set()
            connection.close()

    with transaction.atomic():  # a create's steps, held open between the check and the insert
        limits.lock_user_tasks(user_id)
        erasure.ensure_not_erased(user_id, issued_at=time.time())
        eraser = threading.Thread(target=erase)
        eraser.start()
        assert not finished.wait(0.5), "the erasure did not wait for the create's lock"
        Task(user_id=user_id, title="checked before the erasure").save()
    eraser.join(timeout=10)
    assert erased == [erasure.Erased(tasks=1, idempotency_records=0)]
    assert not Task.unscoped.filter(user_id=user_id).exists()


def test_a_create_waits_for_an_erasure_in_progress_and_is_then_refused(user_id: str) -> None:
    issued_at = time.time() - 60
    outcome: list[Any] = []
    finished = threading.Event()

    def create() -> None:
        try:
            services.create_task(user_id=user_id, fields={"title": "x"}, issued_at=issued_at)
            outcome.append("created")
        except AccountErased as refused:
            outcome.append(refused)
        finally:
            finished.set()
            connection.close()

    with transaction.atomic():
        limits.lock_user_tasks(user_id)  # the erasure's first step, held open
        creator = threading.Thread(target=create)
        creator.start()
        assert not finished.wait(0.5), "the create did not wait for the erasure's lock"
        erasure.erase_user(user_id)  # nested: the rest of it, in the same transaction
    creator.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], AccountErased)
    assert not Task.unscoped.filter(user_id=user_id).exists()


def test_a_burst_of_old_token_creates_around_an_erasure_leaves_nothing(
    make_token: TokenFactory,
) -> None:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    now = int(time.time())
    old = make_token("HS256", sub=user_id, iat=now - 60, exp=now + 600)
    api = TasksApi(Client(), user_id, {"HTTP_AUTHORIZATION": f"Bearer {old}"})
    fresh = make_token("HS256", sub=user_id)
    eraser = TasksApi(Client(), user_id, {"HTTP_AUTHORIZATION": f"Bearer {fresh}"})
    turn = iter(range(1000))
    lock = threading.Lock()

    def work(own: TasksApi) -> list[int]:
        with lock:
            mine = next(turn)
        if mine == 3:  # one thread erases while the others create
            own = TasksApi(own.client, user_id, eraser.headers)
            return [own.call("DELETE", f"/api/{user_id}/account").status_code]
        return [own.call("POST", own.url(), {"title": f"t{n}"}).status_code for n in range(5)]

    statuses = [status for result in in_parallel(8, work, api) for status in result]
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 201, 401}
    assert not Task.unscoped.filter(user_id=user_id).exists()
