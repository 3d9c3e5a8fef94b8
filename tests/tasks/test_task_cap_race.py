"""TASKS_PER_USER_MAX under concurrency: parallel creates at cap - 1 store exactly the cap.

Each thread has its own client and its own database connection (``transaction=True``: what a
thread commits, the others see). On PostgreSQL the creates race for real; SQLite is covered by
tests/tasks/test_task_cap_sqlite.py, against a database file as production uses it.
"""

import threading
import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client

from tasks import limits
from tasks.models import Task
from tests.conftest import TokenFactory
from tests.tasks.conftest import TasksApi
from tests.tasks.test_concurrency import in_parallel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

CAP = 5
BURST = 40


@pytest.fixture(autouse=True)
def _needs_postgres(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (SQLite: tests/tasks/test_task_cap_sqlite.py)")
    settings.TASKS_PER_USER_MAX = CAP


@pytest.fixture
def api(make_token: TokenFactory) -> TasksApi:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    token = make_token("HS256", sub=user_id)
    return TasksApi(Client(), user_id, {"HTTP_AUTHORIZATION": f"Bearer {token}"})


def at_cap_minus_one(api: TasksApi) -> None:
    for n in range(CAP - 1):
        api.create(title=f"existing {n}")


def stored(api: TasksApi) -> int:
    return Task.objects.for_user(api.user_id).count()


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "idempotency-key"])
def test_a_burst_at_cap_minus_one_stores_exactly_the_cap(api: TasksApi, with_key: bool) -> None:
    at_cap_minus_one(api)

    def post(own: TasksApi) -> tuple[int, Any]:
        key: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex} if with_key else {}
        response = own.call("POST", own.url(), {"title": "burst"}, **key)
        return response.status_code, response.json()

    answers = in_parallel(BURST, post, api)
    statuses = sorted(status for status, _ in answers)
    assert (stored(api), statuses) == (CAP, [201] + [409] * (BURST - 1))
    assert all(f"{CAP} tasks" in body["detail"] for status, body in answers if status == 409)


def test_retries_of_one_key_at_cap_minus_one_all_replay_the_one_task(api: TasksApi) -> None:
    """The retries that lose the race find the winner's record under the lock: 201, not 409."""
    at_cap_minus_one(api)

    def post(own: TasksApi) -> tuple[int, int]:
        response = own.call("POST", own.url(), {"title": "once"}, HTTP_IDEMPOTENCY_KEY="retry")
        return response.status_code, response.json().get("id")

    answers = in_parallel(BURST // 2, post, api)
    assert (stored(api), {status for status, _ in answers}) == (CAP, {201})
    assert len({task_id for _, task_id in answers}) == 1


def test_one_users_lock_does_not_hold_back_another_user(
    api: TasksApi, make_token: TokenFactory
) -> None:
    """Bursts for different users each reach their own cap; nobody is refused for another."""
    users = [api] + [
        TasksApi(Client(), uid, {"HTTP_AUTHORIZATION": f"Bearer {make_token('HS256', sub=uid)}"})
        for uid in (f"user-{uuid.uuid4().hex[:12]}" for _ in range(3))
    ]
    for user in users:
        at_cap_minus_one(user)
    turns = iter(users * 5)

    def post(own: TasksApi) -> tuple[str, int]:
        user = next(turns)
        mine = TasksApi(own.client, user.user_id, user.headers)
        return user.user_id, mine.call("POST", mine.url(), {"title": "burst"}).status_code

    answers = in_parallel(len(users) * 5, post, api)
    for user in users:
        mine = sorted(status for uid, status in answers if uid == user.user_id)
        assert (stored(user), mine) == (CAP, [201] + [409] * 4)


def test_the_users_lock_is_held_until_the_transaction_ends(api: TasksApi) -> None:
    """Another connection cannot take the user's lock meanwhile; another user's it can."""
    key = limits.user_lock_key(api.user_id)

    def try_lock(user_key: int) -> bool:
        got: list[bool] = []

        def attempt() -> None:  # a thread: a connection of its own
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [user_key])
                    got.append(cursor.fetchone()[0])
            finally:
                connection.close()

        thread = threading.Thread(target=attempt)
        thread.start()
        thread.join(timeout=10)
        return got[0]

    with transaction.atomic():
        limits.lock_user_tasks(api.user_id)
        assert try_lock(key) is False
        assert try_lock(limits.user_lock_key("someone-else")) is True
    assert try_lock(key) is True
