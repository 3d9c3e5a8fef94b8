"""Operator commands: list the users who own data here; erase by id or by ids on standard input.

A reconciliation job compares ``list_data_owners`` with Better Auth's user table and feeds the
ids Better Auth no longer knows to ``erase_user_data --stdin``. The admin shows who was erased.
"""

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from tasks.models import ErasedUser, IdempotencyRecord, Task

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data() -> None:
    for user_id, title in [("ann", "a1"), ("ann", "a2"), ("bob", "b1"), ("zoe", "z1")]:
        Task(user_id=user_id, title=title).save()
    # carol owns only a stored retry answer (her task is gone, the record not yet purged)
    IdempotencyRecord(
        user_id="carol", key="k", request_hash="h", task_id=999, snapshot={}, etag='"999-1"'
    ).save()
    task = Task.unscoped.get(user_id="ann", title="a1")
    IdempotencyRecord(
        user_id="ann", key="k", request_hash="h", task_id=task.pk, snapshot={}, etag='"1-1"'
    ).save()


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    extra: dict[str, Any] = {} if stdin is None else {"input_stream": io.StringIO(stdin)}
    call_command(*args, stdout=out, **extra)
    return out.getvalue()


def owners() -> list[str]:
    return run("list_data_owners").splitlines()


@pytest.mark.usefixtures("data")
def test_list_data_owners_prints_every_user_with_tasks_or_records_once_sorted() -> None:
    assert owners() == ["ann", "bob", "carol", "zoe"]


def test_list_data_owners_prints_nothing_when_there_is_no_data() -> None:
    assert run("list_data_owners") == ""


@pytest.mark.usefixtures("data")
def test_erase_by_ids() -> None:
    out = run("erase_user_data", "ann", "carol", "nobody")
    assert out.splitlines() == [
        "ann: erased 2 task(s), 1 idempotency record(s)",
        "carol: erased 0 task(s), 1 idempotency record(s)",
        "nobody: erased 0 task(s), 0 idempotency record(s)",
        "Erased 3 user(s): 2 task(s), 2 idempotency record(s).",
    ]
    assert owners() == ["bob", "zoe"]
    erased = ErasedUser.unscoped.order_by("user_id").values_list("user_id", flat=True)
    assert list(erased) == ["ann", "carol", "nobody"]  # their old tokens cannot create


@pytest.mark.usefixtures("data")
def test_erase_ids_from_standard_input() -> None:
    out = run("erase_user_data", "--stdin", stdin="bob\n\n  zoe  \nbob\n")
    assert out.splitlines() == [
        "bob: erased 1 task(s), 0 idempotency record(s)",
        "zoe: erased 1 task(s), 0 idempotency record(s)",
        "Erased 2 user(s): 2 task(s), 0 idempotency record(s).",
    ]
    assert owners() == ["ann", "carol"]


@pytest.mark.usefixtures("data")
def test_ids_as_arguments_and_on_standard_input_together() -> None:
    out = run("erase_user_data", "ann", "--stdin", stdin="bob\n")
    assert out.splitlines()[-1] == "Erased 2 user(s): 3 task(s), 1 idempotency record(s)."


def test_without_any_id_it_refuses() -> None:
    with pytest.raises(CommandError, match="at least one user id"):
        run("erase_user_data")


@pytest.mark.usefixtures("data")
def test_an_empty_standard_input_is_a_job_with_nothing_to_do() -> None:
    assert run("erase_user_data", "--stdin", stdin="\n \n") == (
        "Erased 0 user(s): 0 task(s), 0 idempotency record(s).\n"
    )
    assert owners() == ["ann", "bob", "carol", "zoe"]


@pytest.mark.usefixtures("data")
@pytest.mark.parametrize("bad", ["x" * 256, "ann\x00", "a\tb"])
def test_an_id_that_cannot_be_one_erases_nothing(bad: str) -> None:
    with pytest.raises(CommandError, match="not a user id"):
        run("erase_user_data", "--stdin", stdin=f"bob\n{bad}\n")
    assert owners() == ["ann", "bob", "carol", "zoe"]


def test_a_reconciliation_pipeline_through_real_standard_input(tmp_path: Path) -> None:
    """``list_data_owners | grep -vxF -f better-auth-ids | erase_user_data --stdin``, as
    processes on a database of their own (a SQLite file)."""
    database = tmp_path / "db.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "DJANGO_DEBUG": "1", "PATH": ""}

    def manage(*args: str, stdin: str = "") -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    manage("migrate", "--no-input", "-v", "0")
    seed = (
        "from tasks.models import Task\n"
        "for u in ('gone', 'kept'): Task(user_id=u, title='t').save()"
    )
    manage("shell", "-c", seed)
    better_auth_users = {"kept"}
    orphans = [u for u in manage("list_data_owners").split() if u not in better_auth_users]
    out = manage("erase_user_data", "--stdin", stdin="\n".join(orphans) + "\n")
    assert out.splitlines()[0] == "gone: erased 1 task(s), 0 idempotency record(s)"
    assert manage("list_data_owners").split() == ["kept"]


# ---------------------------------------------------------------------------- admin --


@pytest.fixture
def staff_client(client: Client) -> Client:
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(admin)
    return client


def test_the_admin_shows_erased_users_read_only(staff_client: Client) -> None:
    run("erase_user_data", "ann", "bob")
    changelist = staff_client.get("/admin/tasks/eraseduser/")
    assert changelist.status_code == 200
    body = changelist.content.decode()
    assert "ann" in body
    assert "bob" in body
    assert staff_client.get("/admin/tasks/eraseduser/?q=ann").content.decode().count(">ann<") == 1
    record = ErasedUser.unscoped.get(user_id="ann")
    detail = staff_client.get(f"/admin/tasks/eraseduser/{record.pk}/change/")
    assert detail.status_code == 200  # viewable
    assert b'name="user_id"' not in detail.content  # but not editable
    assert staff_client.get("/admin/tasks/eraseduser/add/").status_code == 403
    assert staff_client.get(f"/admin/tasks/eraseduser/{record.pk}/delete/").status_code == 403
    changed = staff_client.post(
        f"/admin/tasks/eraseduser/{record.pk}/change/",
        {"user_id": "other", "erased_at_0": "2020-01-01", "erased_at_1": "00:00:00"},
    )
    assert changed.status_code == 403
    assert ErasedUser.unscoped.get(pk=record.pk).user_id == "ann"
