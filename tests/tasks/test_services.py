"""services: If-Match parsing, version bumps, idempotent create (including the insert race)."""

import ast
import datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tasks import conditional, services
from tasks.errors import IdempotencyKeyReused, PreconditionFailed, TaskNotFound
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
def test_versions_matching(header: str, versions: set[int] | None) -> None:
    assert conditional.versions_matching(header, task_id=5) == versions


def test_etag_is_strong_and_names_the_version(make_task: TaskFactory) -> None:
    task = make_task()
    assert conditional.etag_for(task) == f'"{task.pk}-1"'


def test_fingerprint_ignores_order_but_not_content() -> None:
    same = services.fingerprint({"title": "a", "due_date": datetime.date(2026, 1, 2)})
    assert same == services.fingerprint({"due_date": datetime.date(2026, 1, 2), "title": "a"})
    assert same != services.fingerprint({"title": "a", "due_date": datetime.date(2026, 1, 3)})


def test_services_import_nothing_of_http() -> None:
    tree = ast.parse(Path(services.__file__).read_text())
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {
        a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
    }
    http = {"tasks.schemas", "tasks.api", "django.http", "django.shortcuts"}
    assert not {m for m in imported if m.split(".")[0] == "ninja"} | (imported & http)


@pytest.mark.django_db
class TestUpdate:
    def update(self, task: Task, if_match: str | None = None, **fields: Any) -> Task:
        versions = conditional.versions_matching(if_match, task_id=task.pk)
        return services.update_task(
            user_id=task.user_id, task_id=task.pk, fields=fields, versions=versions
        )

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
        with pytest.raises(PreconditionFailed):
            self.update(task, if_match='"0-0"')

    def test_stale_if_match_changes_nothing(self, make_task: TaskFactory) -> None:
        task = make_task(title="old")
        stale = conditional.etag_for(task)
        self.update(task, title="first")
        with pytest.raises(PreconditionFailed):
            self.update(task, if_match=stale, title="second")
        task.refresh_from_db()
        assert (task.title, task.version) == ("first", 2)

    def test_current_and_star_if_match_proceed(self, make_task: TaskFactory) -> None:
        task = make_task()
        assert self.update(task, if_match=conditional.etag_for(task), title="a").version == 2
        assert self.update(task, if_match="*", title="b").version == 3

    def test_another_users_task_is_missing(self, make_task: TaskFactory) -> None:
        theirs = make_task(user_id="bob")
        with pytest.raises(TaskNotFound):
            services.update_task(user_id="ann", task_id=theirs.pk, fields={"title": "x"})
        theirs.refresh_from_db()
        assert (theirs.title, theirs.version) == ("A task", 1)


@pytest.mark.django_db
@pytest.mark.parametrize("due_date", [None, datetime.date(2026, 12, 1)], ids=["no-due", "due"])
def test_update_returning_answers_what_a_read_answers(
    make_task: TaskFactory, due_date: datetime.date | None
) -> None:
    """The returned columns go through the fields' converters (SQLite stores timestamps and
    dates as text, booleans as 0/1): the task is typed exactly as a normal read types it."""
    task = make_task(due_date=due_date, description="d", priority="high")
    tasks = Task.objects.for_user(task.user_id).filter(pk=task.pk)
    [written] = services.update_returning(tasks, {"completed": True, "version": 5})
    read = tasks.get()

    def typed(task: Task) -> list[tuple[str, type, Any]]:
        return [(f.attname, type(v := getattr(task, f.attname)), v) for f in fields]

    fields = Task._meta.concrete_fields
    assert typed(written) == typed(read)
    assert (written.completed, written.version, written.due_date) == (True, 5, due_date)
    assert written.created_at == task.created_at
    assert written.created_at.tzinfo is not None
    assert (written._state.adding, written._state.db) == (False, read._state.db)


@pytest.mark.django_db
def test_update_returning_without_a_possible_row_runs_nothing(
    django_assert_num_queries: Any,
) -> None:
    with django_assert_num_queries(0):
        nothing = Task.objects.for_user("ann").filter(version__in=set())
        assert services.update_returning(nothing, {"completed": True}) == []


@pytest.mark.django_db
def test_set_completed_to_its_current_value_keeps_the_etag(make_task: TaskFactory) -> None:
    task = make_task(completed=True)
    same = services.complete_task(user_id=task.user_id, task_id=task.pk, completed=True)
    assert (same.completed, same.version) == (True, 1)
    toggled = services.complete_task(user_id=task.user_id, task_id=task.pk, completed=None)
    assert (toggled.completed, toggled.version) == (False, 2)


@pytest.mark.django_db
def test_stale_delete_keeps_the_task(make_task: TaskFactory) -> None:
    task = make_task()
    with pytest.raises(PreconditionFailed):
        services.delete_task(user_id=task.user_id, task_id=task.pk, versions=frozenset({7}))
    assert Task.objects.for_user(task.user_id).filter(pk=task.pk).exists()
    with pytest.raises(TaskNotFound):
        services.delete_task(user_id="someone-else", task_id=task.pk)


@pytest.mark.django_db
class TestIdempotentCreate:
    def create(self, user_id: str = "ann", key: str | None = "k1", title: str = "Buy milk") -> Any:
        return services.create_task(user_id=user_id, fields={"title": title}, key=key)

    @staticmethod
    def state(created: services.Created) -> tuple[dict[str, Any], str]:
        return services.snapshot(created.task), created.etag

    def test_same_key_and_data_replays_the_first_answer(self) -> None:
        first = self.create()
        Task.objects.for_user("ann").filter(pk=first.task.pk).update(title="edited later")
        assert self.state(self.create()) == self.state(first)
        assert self.create().task.title == "Buy milk"
        assert Task.objects.for_user("ann").count() == 1

    def test_same_key_other_data_is_a_conflict(self) -> None:
        self.create()
        with pytest.raises(IdempotencyKeyReused):
            self.create(title="Buy bread")
        assert Task.objects.for_user("ann").count() == 1

    def test_keys_are_per_user(self) -> None:
        ann, bob = self.create("ann"), self.create("bob")
        assert ann.task.pk != bob.task.pk

    def test_without_a_key_every_call_creates(self) -> None:
        assert self.create(key=None).task.pk != self.create(key=None).task.pk

    def test_a_key_older_than_a_day_is_forgotten(self) -> None:
        first = self.create()
        old = timezone.now() - datetime.timedelta(hours=24, seconds=1)
        IdempotencyRecord.objects.for_user("ann").update(created_at=old)
        second = self.create(title="Other data is fine now")
        assert second.task.pk != first.task.pk
        assert IdempotencyRecord.objects.for_user("ann").get().task_id == second.task.pk

    def test_a_record_stored_before_snapshots_still_replays(self) -> None:
        """Records written before migration 0004 hold the TaskOut answer, not a snapshot."""
        first = self.create()
        answer = {
            "id": first.task.pk, "title": "Buy milk", "description": "", "completed": False,
            "priority": "medium", "due_date": None,
            "created_at": "2026-11-22T20:56:55.892000Z",
            "updated_at": "2026-11-22T20:56:55.892000Z",
        }  # fmt: skip
        IdempotencyRecord.objects.for_user("ann").update(snapshot=answer)
        replayed = self.create()
        assert (replayed.task.pk, replayed.task.user_id, replayed.etag) == (
            first.task.pk, "ann", first.etag,
        )  # fmt: skip
        assert replayed.task.created_at == datetime.datetime(
            2026, 11, 22, 20, 56, 55, 892000, tzinfo=datetime.UTC
        )

    def hide_the_record(self, monkeypatch: pytest.MonkeyPatch, lookups: int) -> list[str]:
        """The first ``lookups`` calls of services._replay miss (the record is not visible to
        them yet); the later ones are the real lookup. Returns what each call saw."""
        real_replay = services._replay
        seen: list[str] = []

        def replay(**kwargs: Any) -> services.Created | None:
            if len(seen) < lookups:
                seen.append("missed")
                return None
            seen.append("looked up")
            return real_replay(**kwargs)

        monkeypatch.setattr(services, "_replay", replay)
        return seen

    def test_a_record_committed_before_the_lock_is_replayed_under_it(
        self, monkeypatch: pytest.MonkeyPatch, settings: Any
    ) -> None:
        """The first request commits between a retry's check and its lock: the check under the
        lock replays it before the cap is counted (with no room left: 201, never 409)."""
        settings.TASKS_PER_USER_MAX = 1
        winner = self.create()
        seen = self.hide_the_record(monkeypatch, lookups=1)
        assert self.state(self.create()) == self.state(winner)
        assert seen == ["missed", "looked up"]
        assert Task.objects.for_user("ann").count() == 1

    def test_a_record_written_without_the_lock_collides_and_the_first_answer_stands(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Both checks miss the record (a writer that skipped the lock committed it after them):
        the insert collides on (user_id, key), rolls back, and the record is replayed."""
        winner = self.create()
        seen = self.hide_the_record(monkeypatch, lookups=2)
        assert self.state(self.create()) == self.state(winner)
        assert seen == ["missed", "missed", "looked up"]
        assert Task.objects.for_user("ann").count() == 1
        assert IdempotencyRecord.objects.for_user("ann").get().task_id == winner.task.pk
