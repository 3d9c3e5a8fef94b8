"""The admin lists, edits, deletes and bulk-updates every user's tasks, with permissions."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from tasks.models import IdempotencyRecord, Task

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


def test_change_form_saves_through_the_unscoped_manager(
    staff_client: Client, tasks: list[Task]
) -> None:
    task = tasks[2]
    form = {"user_id": "bob", "title": "Edited", "description": "", "priority": "high"}
    response = staff_client.post(f"{CHANGELIST}{task.pk}/change/", form)
    assert response.status_code == 302, response.content
    task.refresh_from_db()
    assert (task.title, task.priority, task.version) == ("Edited", "high", 2)


def test_change_form_reports_invalid_values(staff_client: Client, tasks: list[Task]) -> None:
    form = {"user_id": "bob", "title": "x" * 201, "description": "", "priority": "high"}
    response = staff_client.post(f"{CHANGELIST}{tasks[2].pk}/change/", form)
    assert response.status_code == 200
    assert "at most 200 characters" in response.content.decode()


def idempotency_record(task: Task) -> IdempotencyRecord:
    record = IdempotencyRecord(
        user_id=task.user_id, key=f"k{task.pk}", request_hash="h", task_id=task.pk,
        snapshot={"title": task.title}, etag='"1-1"',
    )  # fmt: skip
    record.save()
    return record


def test_delete_view_removes_the_task_and_its_idempotency_record(
    staff_client: Client, tasks: list[Task]
) -> None:
    task, kept = tasks[0], tasks[1]
    idempotency_record(task), idempotency_record(kept)
    url = f"{CHANGELIST}{task.pk}/delete/"
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert list(Task.unscoped.values_list("pk", flat=True).order_by("pk")) == [
        tasks[1].pk, tasks[2].pk,
    ]  # fmt: skip
    assert list(IdempotencyRecord.unscoped.values_list("task_id", flat=True)) == [kept.pk]


def test_bulk_delete_removes_the_tasks_and_their_idempotency_records(
    staff_client: Client, tasks: list[Task]
) -> None:
    for task in tasks:
        idempotency_record(task)
    chosen = [tasks[0].pk, tasks[2].pk]
    form = {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    assert staff_client.post(CHANGELIST, form).status_code == 302
    assert list(Task.unscoped.values_list("pk", flat=True)) == [tasks[1].pk]
    assert list(IdempotencyRecord.unscoped.values_list("task_id", flat=True)) == [tasks[1].pk]


@pytest.fixture
def viewer_client(client: Client) -> Client:
    """Staff who may only view tasks."""
    viewer = User.objects.create_user("viewer", password="pw-for-tests-only", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_task"))
    client.force_login(viewer)
    return client


@pytest.mark.parametrize("action", ["mark_completed", "mark_pending"])
def test_bulk_actions_need_the_change_permission(
    viewer_client: Client, tasks: list[Task], action: str
) -> None:
    page = viewer_client.get(CHANGELIST)
    assert page.status_code == 200
    assert action not in page.content.decode()
    before = [(t.completed, t.version) for t in Task.unscoped.order_by("pk")]
    viewer_client.post(CHANGELIST, {"action": action, "_selected_action": [t.pk for t in tasks]})
    assert [(t.completed, t.version) for t in Task.unscoped.order_by("pk")] == before


def test_add_form_and_history(staff_client: Client) -> None:
    form = {"user_id": "cy", "title": "Added", "description": "", "priority": "low"}
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 200
    assert staff_client.post(f"{CHANGELIST}add/", form).status_code == 302
    task = Task.objects.for_user("cy").get()
    assert (task.title, task.version) == ("Added", 1)
    history = staff_client.get(f"{CHANGELIST}{task.pk}/history/")
    assert history.status_code == 200
    assert "Added." in history.content.decode()
