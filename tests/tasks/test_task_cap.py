"""TASKS_PER_USER_MAX: a user at the cap gets 409 with a clear detail; nobody else is affected."""

from collections.abc import Callable
from typing import Any

import pytest

from tasks import checks, limits
from tests.tasks.conftest import TasksApi

pytestmark = pytest.mark.django_db


def test_creating_past_the_cap_answers_409(
    api_for: Callable[[str], TasksApi], settings: Any
) -> None:
    settings.TASKS_PER_USER_MAX = 2
    ann, bob = api_for("ann"), api_for("bob")
    first = ann.create()
    ann.create()
    refused = ann.call("POST", ann.url(), {"title": "one too many"})
    assert refused.status_code == 409
    assert "2 tasks" in refused.json()["detail"]
    assert ann.call("GET", ann.url()).json()["count"] == 2
    bob.create()  # the cap is per user
    assert ann.call("DELETE", ann.url(first["id"])).status_code == 204
    ann.create()  # room again


def test_a_retried_create_at_the_cap_replays_its_answer(
    api_for: Callable[[str], TasksApi], settings: Any
) -> None:
    settings.TASKS_PER_USER_MAX = 1
    ann = api_for("ann")
    first = ann.call("POST", ann.url(), {"title": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    retried = ann.call("POST", ann.url(), {"title": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
    assert retried.status_code == 201
    assert retried.json() == first.json()
    fresh = ann.call("POST", ann.url(), {"title": "b"}, HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 409


@pytest.mark.parametrize(
    ("options", "errors"),
    [
        pytest.param({"transaction_mode": "IMMEDIATE"}, [], id="immediate"),
        pytest.param({"transaction_mode": "exclusive"}, [], id="exclusive"),
        pytest.param({"transaction_mode": "DEFERRED"}, ["tasks.E001"], id="deferred"),
        pytest.param({}, ["tasks.E001"], id="sqlite-default"),
    ],
)
def test_sqlite_must_begin_transactions_with_the_write_lock(
    options: dict[str, str], errors: list[str]
) -> None:
    """Without it two SQLite transactions could both count before either inserts."""
    databases: dict[str, dict[str, Any]] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": options},
        "other": {"ENGINE": "django.db.backends.postgresql"},
    }
    assert [error.id for error in checks.sqlite_write_lock_errors(databases)] == errors


def test_the_projects_settings_pass_the_check() -> None:
    assert checks.sqlite_transactions_take_the_write_lock() == []


def test_the_lock_key_is_a_stable_signed_64_bit_hash() -> None:
    """Pinned: during a rolling deploy old and new workers must lock the same key per user."""
    assert limits.user_lock_key("ann") == -476280113337431797
    assert limits.user_lock_key("bob") == -4757091956819930426
    keys = {limits.user_lock_key(f"user-{n}") for n in range(1000)}
    assert len(keys) == 1000
    assert all(-(2**63) <= key < 2**63 for key in keys)


@pytest.mark.django_db(transaction=True)  # no test transaction around it
def test_the_lock_needs_the_creates_transaction() -> None:
    with pytest.raises(RuntimeError, match="needs a transaction"):
        limits.lock_user_tasks("ann")
