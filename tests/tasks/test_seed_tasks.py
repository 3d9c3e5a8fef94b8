"""`manage.py seed_tasks`: the rows it writes are valid tasks, spread as documented."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from tasks.models import Priority, Task


@pytest.mark.django_db
def test_seeds_users_times_per_user_valid_tasks() -> None:
    out = io.StringIO()
    call_command(
        "seed_tasks",
        users=3,
        per_user=8,
        batch_size=5,
        prefix="s-",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "seeded 24 tasks for 3 users" in out.getvalue()
    per_user = dict(Task.unscoped.values_list("user_id").annotate(n=Count("id")))
    assert per_user == {"s-00000": 8, "s-00001": 8, "s-00002": 8}
    tasks = list(Task.objects.for_user("s-00001"))
    assert {t.priority for t in tasks} == set(Priority.values)
    assert {t.completed for t in tasks} == {True, False}
    assert {t.due_date is None for t in tasks} == {True, False}
    assert len({t.created_at for t in tasks}) == 8
    assert all(t.created_at == t.updated_at for t in tasks)
    assert {t.version for t in tasks} == {1}
    for task in tasks:
        task.full_clean()  # the model's own validation accepts every seeded row


@pytest.mark.django_db
def test_first_continues_after_earlier_users() -> None:
    call_command(
        "seed_tasks", users=2, per_user=1, prefix="s-", no_progress=True, stdout=io.StringIO()
    )
    call_command(
        "seed_tasks",
        users=2,
        per_user=1,
        first=2,
        prefix="s-",
        no_progress=True,
        stdout=io.StringIO(),
    )
    assert sorted(Task.unscoped.values_list("user_id", flat=True)) == [
        "s-00000", "s-00001", "s-00002", "s-00003",
    ]  # fmt: skip


@pytest.mark.django_db
def test_refuses_a_zero_count() -> None:
    with pytest.raises(SystemExit):
        call_command("seed_tasks", users=0, per_user=5, stdout=io.StringIO(), stderr=io.StringIO())
    assert not Task.unscoped.exists()
