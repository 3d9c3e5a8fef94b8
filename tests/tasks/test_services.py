"""services: If-Match parsing, version bumps, idempotent create (including the insert race)."""

import datetime
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone
from ninja.errors import HttpError

from tasks import services
from tasks.models import IdempotencyRecord, Task
from tests.tasks.conftest import TaskFactory


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        pytest.param("*", None, id="star"),
        pytest.param(" * ", None, id="star-padded"),
        pytest.param('"5-2"', {2}, id="one-tag"),
        pytest.param('"5-2", "5-3" ,"9-4"', {2, 3}, id="list-other-task-ignored"),
        pytest.param('W/"5-2"', set(), id="weak-never-matches"),
        pytest.param('"6-2"', set(), id="other-task"),
        pytest.param("5-2", set(), id="unquoted"),
        pytest.param("", set(), id="empty"),
        pytest.param('"5-99999999999999999999"', set(), id="overflowing-version"),
        pytest.param('"garbage"', set(), id="garbage"),
    ],
)
def test_matching_versions(header: str, versions: set[int] | None) -> None:
    assert services.matching_versions(header, task_id=5) == versions


def test_etag_is_strong_and_names_the_version(make_task: TaskFactory) -> None:
    task = make_task()
    assert services.etag_for(task) == f'"{task.pk}-1"'


def test_request_hash_ignores_layout_but_not_content() -> None:
    same = services.request_hash(b'{"title": "a", "priority": "low"}')
    assert same == services.request_hash(b'{"priority":"low",\n "title":"a"}')
    assert same != services.request_hash(b'{"title": "a", "priority": "high"}')


@pytest.mark.django_db
class TestUpdate:
    def update(self, task: Task, if_match: str | None = None, **fields: Any) -> Task:
        tasks = Task.objects.for_user(task.user_id)
        return services.update_task(tasks=tasks, task_id=task.pk, fields=fields, if_match=if_match)

    def test_a_change_bumps_version_and_updated_at(self, make_task: TaskFactory) -> None:
        task = make_task(title="old")
        updated = self.update(task, title="new")
        assert (updated.title, updated.version) == ("new", 2)
        assert updated.updated_at > task.updated_at

    def test_a_write_that_changes_nothing_keeps_the_etag(self, make_task: TaskFactory) -> None:
        task = make_task(title="same", due_date=None)
        unchanged = self.update(task, title="same", due_date=None)
        assert (unchanged.version, unchanged.updated_at) == (1, task.updated_at)

    def test_no_fields_reads_and_still_checks_if_match(self, make_task: TaskFactory) -> None:
        task = make_task()
        assert self.update(task).version == 1
        with pytest.raises(HttpError) as info:
            self.update(task, if_match='"0-0"')
        assert info.value.status_code == 412

    def test_stale_if_match_changes_nothing(self, make_task: TaskFactory) -> None:
        task = make_task(title="old")
        stale = services.etag_for(task)
        self.update(task, title="first")
        with pytest.raises(HttpError) as info:
            self.update(task, if_match=stale, title="second")
        assert info.value.status_code == 412
        task.refresh_from_db()
        assert (task.title, task.version) == ("first", 2)

    def test_current_and_star_if_match_proceed(self, make_task: TaskFactory) -> None:
        task = make_task()
        assert self.update(task, if_match=services.etag_for(task), title="a").version == 2
        assert self.update(task, if_match="*", title="b").version == 3

    def test_another_users_task_is_missing(self, make_task: TaskFactory) -> None:
        theirs = make_task(user_id="bob")
        with pytest.raises(Http404):
            services.update_task(
                tasks=Task.objects.for_user("ann"), task_id=theirs.pk, fields={"title": "x"},
                if_match="*",
            )  # fmt: skip
        theirs.refresh_from_db()
        assert (theirs.title, theirs.version) == ("A task", 1)


@pytest.mark.django_db
def test_set_completed_to_its_current_value_keeps_the_etag(make_task: TaskFactory) -> None:
    task = make_task(completed=True)
    tasks = Task.objects.for_user(task.user_id)
    same = services.complete_task(tasks=tasks, task_id=task.pk, completed=True, if_match=None)
    assert (same.completed, same.version) == (True, 1)
    toggled = services.complete_task(tasks=tasks, task_id=task.pk, completed=None, if_match=None)
    assert (toggled.completed, toggled.version) == (False, 2)


@pytest.mark.django_db
def test_stale_delete_keeps_the_task(make_task: TaskFactory) -> None:
    task = make_task()
    tasks = Task.objects.for_user(task.user_id)
    with pytest.raises(HttpError):
        services.delete_task(tasks=tasks, task_id=task.pk, if_match=f'"{task.pk}-7"')
    assert tasks.filter(pk=task.pk).exists()


@pytest.mark.django_db
class TestIdempotentCreate:
    BODY = b'{"title": "Buy milk"}'

    def create(self, user_id: str = "ann", key: str | None = "k1", body: bytes = BODY) -> Any:
        title = body.decode().split('"')[3]
        return services.create_task(user_id=user_id, fields={"title": title}, key=key, body=body)

    def test_same_key_and_body_replays_the_first_answer(self) -> None:
        first = self.create()
        Task.objects.for_user("ann").filter(pk=first.task_id).update(title="edited later")
        assert self.create() == first
        assert Task.objects.for_user("ann").count() == 1

    def test_same_key_other_body_is_a_conflict(self) -> None:
        self.create()
        with pytest.raises(HttpError) as info:
            self.create(body=b'{"title": "Buy bread"}')
        assert info.value.status_code == 409
        assert Task.objects.for_user("ann").count() == 1

    def test_keys_are_per_user(self) -> None:
        ann, bob = self.create("ann"), self.create("bob")
        assert ann.task_id != bob.task_id

    def test_without_a_key_every_call_creates(self) -> None:
        assert self.create(key=None).task_id != self.create(key=None).task_id

    def test_a_key_older_than_a_day_is_forgotten(self) -> None:
        first = self.create()
        old = timezone.now() - datetime.timedelta(hours=24, seconds=1)
        IdempotencyRecord.objects.for_user("ann").update(created_at=old)
        second = self.create(body=b'{"title": "Other body is fine now"}')
        assert second.task_id != first.task_id
        assert IdempotencyRecord.objects.for_user("ann").get().task_id == second.task_id

    def test_losing_the_insert_race_replays_the_winner(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A concurrent request commits the same key between our check and our insert."""
        replay = services._replay
        winner: list[services.Created] = []

        def check_then_lose_race(**kwargs: Any) -> services.Created | None:
            if not winner:
                monkeypatch.setattr(services, "_replay", replay)
                winner.append(self.create())
                return None
            return replay(**kwargs)

        monkeypatch.setattr(services, "_replay", check_then_lose_race)
        assert self.create() == winner[0]
        assert Task.objects.for_user("ann").count() == 1
