"""Concurrent requests on PostgreSQL: no lost toggles, one winner per ETag, one task per key."""

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import TokenFactory
from tests.tasks.conftest import TasksApi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

THREADS = 8
TOGGLES_PER_THREAD = 10


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers, so there is no race to test")


@pytest.fixture
def api(make_token: TokenFactory) -> TasksApi:
    user_id = f"user-{uuid.uuid4().hex[:12]}"
    token = make_token("HS256", sub=user_id)
    return TasksApi(Client(), user_id, {"HTTP_AUTHORIZATION": f"Bearer {token}"})


def in_parallel(count: int, request: Callable[[TasksApi], Any], api: TasksApi) -> list[Any]:
    """Run ``request`` from ``count`` threads at once, each with its own client and connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            own = TasksApi(Client(), api.user_id, api.headers)
            barrier.wait(timeout=10)
            results.append(request(own))
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(results) == count
    return results


@pytest.mark.parametrize("threads", [THREADS, THREADS - 1])
def test_parallel_toggles_never_lose_an_update(api: TasksApi, threads: int) -> None:
    task = api.create()
    url = api.url(task["id"], "/complete")

    def toggle(own: TasksApi) -> list[int]:
        return [own.call("PATCH", url).status_code for _ in range(TOGGLES_PER_THREAD)]

    statuses = in_parallel(threads, toggle, api)
    assert statuses == [[200] * TOGGLES_PER_THREAD] * threads
    toggles = threads * TOGGLES_PER_THREAD
    final = api.call("GET", api.url(task["id"]))
    assert final.json()["completed"] is (toggles % 2 == 1)
    assert final["ETag"] == f'"{task["id"]}-{1 + toggles}"'


def test_each_parallel_toggle_answers_with_its_own_write(api: TasksApi) -> None:
    """20 toggles at once: every answer is the row as that toggle left it, never another's."""
    task = api.create()
    url = api.url(task["id"], "/complete")

    def toggle(own: TasksApi) -> tuple[int, bool, str]:
        response = own.call("PATCH", url)
        assert response.status_code == 200
        return response.json()["id"], response.json()["completed"], response["ETag"]

    answers = in_parallel(20, toggle, api)
    # Version n + 1 is the n-th toggle, which leaves the task completed when n is odd.
    by_version = {int(etag.strip('"').split("-")[1]): completed for _, completed, etag in answers}
    assert sorted(by_version) == list(range(2, 22))  # 20 distinct versions: 20 own answers
    assert all(completed is (version % 2 == 0) for version, completed in by_version.items())
    assert [completed for _, completed, _ in answers].count(True) == 10


def test_parallel_writes_with_one_etag_have_one_winner(api: TasksApi) -> None:
    task = api.create()
    seen = api.call("GET", api.url(task["id"]))["ETag"]

    def replace(own: TasksApi) -> int:
        body = {"title": f"writer {threading.get_ident()}"}
        return int(own.call("PUT", own.url(task["id"]), body, HTTP_IF_MATCH=seen).status_code)

    statuses = in_parallel(THREADS, replace, api)
    assert sorted(statuses) == [200] + [412] * (THREADS - 1)


def test_parallel_partial_updates_of_different_fields_all_land(api: TasksApi) -> None:
    task = api.create()
    fields = [{"title": "new title"}, {"priority": "high"}, {"description": "new text"},
              {"due_date": "2026-12-01"}]  # fmt: skip
    bodies = iter(fields * 2)
    lock = threading.Lock()

    def patch(own: TasksApi) -> int:
        with lock:
            body = next(bodies)
        return int(own.call("PATCH", own.url(task["id"]), body).status_code)

    assert in_parallel(THREADS, patch, api) == [200] * THREADS
    final = api.call("GET", api.url(task["id"])).json()
    assert final | {k: v for f in fields for k, v in f.items()} == final


def test_parallel_retries_with_one_idempotency_key_create_one_task(api: TasksApi) -> None:
    def post(own: TasksApi) -> tuple[int, Any, str]:
        response = own.call("POST", own.url(), {"title": "once"}, HTTP_IDEMPOTENCY_KEY="retry-1")
        return response.status_code, response.json(), response["Location"]

    answers = in_parallel(THREADS, post, api)
    assert {status for status, _, _ in answers} == {201}
    assert len({(body["id"], location) for _, body, location in answers}) == 1
    assert api.call("GET", api.url()).json()["count"] == 1
