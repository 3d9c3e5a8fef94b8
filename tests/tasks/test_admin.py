"""The admin changelist, search, filters and bulk actions work for a superuser."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tasks.models import Task

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tasks/task/"


@pytest.fixture
def staff_client(client: Client) -> Client:
    admin = User.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(admin)
    return client


@pytest.fixture
def tasks() -> list[Task]:
    made = [
        Task(user_id="ann", title="Buy milk", description="two litres"),
        Task(user_id="ann", title="Call mum", completed=True),
        Task(user_id="bob", title="Write report", description="quarterly milk numbers"),
    ]
    for task in made:
        task.save()
    return made


def test_changelist_lists_every_users_tasks(staff_client: Client, tasks: list[Task]) -> None:
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    body = response.content.decode()
    for title in ("Buy milk", "Call mum", "Write report"):
        assert title in body
    assert "bob" in body


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        pytest.param("milk", {"Buy milk", "Write report"}, {"Call mum"}, id="title-or-description"),
        pytest.param("bob", {"Write report"}, {"Buy milk", "Call mum"}, id="exact-user-id"),
        pytest.param("bo", set(), {"Write report"}, id="user-id-is-exact-not-partial"),
    ],
)
def test_search(
    staff_client: Client, tasks: list[Task], query: str, shown: set[str], hidden: set[str]
) -> None:
    body = staff_client.get(CHANGELIST, {"q": query}).content.decode()
    for title in shown:
        assert title in body
    for title in hidden:
        assert f">{title}<" not in body


def test_completed_filter(staff_client: Client, tasks: list[Task]) -> None:
    body = staff_client.get(CHANGELIST, {"completed__exact": "1"}).content.decode()
    assert "Call mum" in body
    assert "Buy milk" not in body


def test_date_hierarchy_and_timestamps_are_read_only(
    staff_client: Client, tasks: list[Task]
) -> None:
    response = staff_client.get(f"{CHANGELIST}{tasks[0].pk}/change/")
    assert response.status_code == 200
    assert 'name="created_at"' not in response.content.decode()
    year = tasks[0].created_at.year
    assert staff_client.get(CHANGELIST, {"created_at__year": year}).status_code == 200


@pytest.mark.parametrize(
    ("action", "completed"), [("mark_completed", True), ("mark_pending", False)]
)
def test_bulk_actions(
    staff_client: Client, tasks: list[Task], action: str, completed: bool
) -> None:
    before = {t.pk: t.updated_at for t in tasks}
    response = staff_client.post(
        CHANGELIST, {"action": action, "_selected_action": [t.pk for t in tasks]}
    )
    assert response.status_code == 302
    for task in tasks:
        task.refresh_from_db()
        assert task.completed is completed
        assert task.updated_at > before[task.pk]
        assert task.version == 2  # the ETag changes too


def test_anonymous_users_are_sent_to_login(client: Client) -> None:
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
