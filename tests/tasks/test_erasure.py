"""DELETE /api/{user_id}/account erases a user's data, and the erasure sticks (CONTRACT §4, §5).

A token issued before the erasure stays valid until its ``exp`` (authentication is stateless),
but it can no longer create: the create refuses it inside its transaction. Reads check nothing.
"""

import datetime
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from tasks.models import ErasedUser, IdempotencyRecord, Task
from tests.conftest import TokenFactory
from tests.tasks.conftest import TasksApi

pytestmark = pytest.mark.django_db

ERASED = "The account was deleted after this token was issued"


def account_url(user_id: str) -> str:
    return f"/api/{user_id}/account"


def erase(api: TasksApi) -> Any:
    return api.call("DELETE", account_url(api.user_id))


def stored(user_id: str) -> tuple[int, int]:
    """(tasks, idempotency records) in the database, looked at directly."""
    tasks = Task.unscoped.filter(user_id=user_id).count()
    return tasks, IdempotencyRecord.unscoped.filter(user_id=user_id).count()


def with_token(api: TasksApi, token: str) -> TasksApi:
    return TasksApi(api.client, api.user_id, {"HTTP_AUTHORIZATION": f"Bearer {token}"})


@pytest.fixture
def ann(api_for: Callable[[str], TasksApi]) -> TasksApi:
    return api_for("ann")


@pytest.fixture
def bob(api_for: Callable[[str], TasksApi]) -> TasksApi:
    return api_for("bob")


def test_erasing_deletes_every_task_and_record_of_the_user_and_nobody_elses(
    ann: TasksApi, bob: TasksApi
) -> None:
    ann.create(title="plain")
    done = ann.create(title="done")
    ann.call("PATCH", ann.url(done["id"], "/complete"), {"completed": True})
    for key in ("k1", "k2"):
        response = ann.call("POST", ann.url(), {"title": key}, HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 201
    bob_task = bob.create(title="Bob's")
    bob.call("POST", bob.url(), {"title": "kept"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert stored("ann") == (4, 2)

    response = erase(ann)

    assert response.status_code == 200
    assert response.json() == {"tasks": 4, "idempotency_records": 2}
    assert stored("ann") == (0, 0)
    assert ann.call("GET", ann.url()).json() == {"items": [], "count": 0}
    assert stored("bob") == (2, 1)
    assert bob.call("GET", bob.url(bob_task["id"])).status_code == 200


def test_erasing_is_idempotent(ann: TasksApi) -> None:
    ann.create()
    assert erase(ann).json() == {"tasks": 1, "idempotency_records": 0}
    first = ErasedUser.unscoped.get(user_id="ann").erased_at
    again = erase(ann)
    assert again.status_code == 200
    assert again.json() == {"tasks": 0, "idempotency_records": 0}
    assert ErasedUser.unscoped.filter(user_id="ann").count() == 1
    assert ErasedUser.unscoped.get(user_id="ann").erased_at >= first  # the latest erasure


def test_a_user_without_data_can_be_erased(ann: TasksApi) -> None:
    assert erase(ann).json() == {"tasks": 0, "idempotency_records": 0}
    assert ErasedUser.unscoped.filter(user_id="ann").exists()


def test_erasing_is_bound_to_the_tokens_user(ann: TasksApi, bob: TasksApi) -> None:
    bob.create()
    response = ann.call("DELETE", account_url("bob"))
    assert response.status_code == 403
    assert stored("bob") == (1, 0)
    assert not ErasedUser.unscoped.exists()


def test_erasing_needs_a_token(client: Client, bob: TasksApi) -> None:
    bob.create()
    response = client.delete(account_url("bob"))
    assert response.status_code == 401
    assert stored("bob") == (1, 0)


# ------------------------------------------------------------------------- it sticks --


@pytest.fixture
def issued(make_token: TokenFactory) -> Callable[..., str]:
    """``issued(seconds_ago, sub=...)``: an EdDSA token whose ``iat`` lies that far back."""

    def factory(seconds_ago: float, *, sub: str = "ann", **claims: Any) -> str:
        now = int(time.time())
        return make_token(
            "EdDSA", sub=sub, iat=now - seconds_ago, exp=now - seconds_ago + 900, **claims
        )

    return factory


def assert_refused_as_erased(response: Any) -> None:
    assert response.status_code == 401
    assert response.json()["detail"].startswith(ERASED)
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="todo-api", error="invalid_token"')
    assert ERASED in challenge


def test_a_token_issued_before_the_erasure_cannot_create(
    ann: TasksApi, issued: Callable[..., str]
) -> None:
    old = with_token(ann, issued(60))
    old.create(title="before")
    assert erase(ann).status_code == 200

    assert_refused_as_erased(old.call("POST", old.url(), {"title": "after"}))
    keyed = old.call("POST", old.url(), {"title": "after"}, HTTP_IDEMPOTENCY_KEY="k")
    assert_refused_as_erased(keyed)
    assert stored("ann") == (0, 0)
    # The token itself is still good for everything else: there is simply nothing left.
    assert old.call("GET", old.url()).json() == {"items": [], "count": 0}
    assert old.call("DELETE", old.url(status="completed")).json() == {"deleted": 0}


def test_the_token_that_erased_cannot_create_either(ann: TasksApi) -> None:
    erase(ann)  # a token issued this very second (within the leeway of the erasure)
    assert_refused_as_erased(ann.call("POST", ann.url(), {"title": "x"}))
    assert stored("ann") == (0, 0)


def test_a_token_without_iat_counts_as_old(
    ann: TasksApi, make_token: TokenFactory, settings: Any
) -> None:
    without_iat = with_token(ann, make_token("EdDSA", sub="ann", iat=None))
    without_iat.create()  # never erased: no check to fail
    erase(ann)
    ErasedUser.unscoped.update(erased_at=timezone.now() - datetime.timedelta(hours=1))
    assert_refused_as_erased(without_iat.call("POST", without_iat.url(), {"title": "x"}))


def test_a_token_issued_after_the_erasure_creates_again(
    ann: TasksApi, issued: Callable[..., str], settings: Any
) -> None:
    settings.BETTER_AUTH_LEEWAY_SECONDS = 10
    erase(ann)
    erased_at = timezone.now() - datetime.timedelta(seconds=100)
    ErasedUser.unscoped.update(erased_at=erased_at)
    # The clocks of Better Auth and the API may differ by the leeway: up to it, still refused.
    at_the_margin = with_token(ann, issued(100 - 10))
    assert_refused_as_erased(at_the_margin.call("POST", ann.url(), {"title": "x"}))
    newer = with_token(ann, issued(100 - 12))
    response = newer.call("POST", ann.url(), {"title": "a new start"})
    assert response.status_code == 201
    assert stored("ann") == (1, 0)
    # and erasing again erases that, and moves the line
    assert erase(ann).json() == {"tasks": 1, "idempotency_records": 0}
    assert_refused_as_erased(newer.call("POST", ann.url(), {"title": "x"}))


def test_another_users_old_token_is_not_affected(ann: TasksApi, issued: Callable[..., str]) -> None:
    erase(ann)
    bob = TasksApi(ann.client, "bob", {"HTTP_AUTHORIZATION": f"Bearer {issued(600, sub='bob')}"})
    assert bob.call("POST", bob.url(), {"title": "fine"}).status_code == 201


def test_reads_do_not_look_at_erasures(ann: TasksApi) -> None:
    task = ann.create()
    table = ErasedUser._meta.db_table
    with CaptureQueriesContext(connection) as reads:
        assert ann.call("GET", ann.url()).status_code == 200
        assert ann.call("GET", ann.url(task["id"])).status_code == 200
    assert reads.captured_queries
    assert not [q for q in reads.captured_queries if table in q["sql"]]
    with CaptureQueriesContext(connection) as creates:
        ann.create()
    assert [q for q in creates.captured_queries if table in q["sql"]]


def test_the_refusal_is_counted_as_an_auth_refusal(ann: TasksApi) -> None:
    def refusals() -> float:
        labels = {"reason": "account_erased"}
        return REGISTRY.get_sample_value("auth_refusals_total", labels) or 0.0

    before = refusals()
    erase(ann)
    ann.call("POST", ann.url(), {"title": "x"})
    assert refusals() == before + 1


# -------------------------------------------------------------------------- OpenAPI --


def test_the_operation_is_documented(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/{user_id}/account"]["delete"]
    assert operation["operationId"] == "erase_account"
    assert operation["security"] == [{"BetterAuthBearer": []}]
    assert set(operation["responses"]) == {"200", "401", "403", "422", "429", "503"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    erased_out = schema["components"]["schemas"][ok.rsplit("/", 1)[1]]
    assert set(erased_out["properties"]) == {"tasks", "idempotency_records"}
    assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "beforeDelete" in operation["description"]
