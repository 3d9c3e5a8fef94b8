"""CONTRACT §8 over HTTP: ETag and If-Match (412), Idempotency-Key (replay, 409, per user)."""

from typing import Any

import pytest

from tasks.models import IdempotencyRecord
from tests.tasks.conftest import SUCCESS_STATUS, TasksApi

pytestmark = pytest.mark.django_db

WRITES = [
    pytest.param("PUT", "", {"title": "replaced"}, id="put"),
    pytest.param("PATCH", "", {"title": "patched"}, id="patch"),
    pytest.param("PATCH", "/complete", None, id="complete"),
    pytest.param("DELETE", "", None, id="delete"),
]


def etag(api: TasksApi, task_id: int) -> str:
    return str(api.call("GET", api.url(task_id))["ETag"])


class TestETag:
    def test_every_task_answer_carries_the_current_etag(self, api: TasksApi) -> None:
        created = api.call("POST", api.url(), {"title": "t"})
        task_id = created.json()["id"]
        tags = [created["ETag"], etag(api, task_id)]
        tags.append(api.call("PATCH", api.url(task_id), {"title": "u"})["ETag"])
        tags.append(api.call("PUT", api.url(task_id), {"title": "v"})["ETag"])
        tags.append(api.call("PATCH", api.url(task_id, "/complete"))["ETag"])
        assert tags == [f'"{task_id}-{v}"' for v in (1, 1, 2, 3, 4)]
        assert etag(api, task_id) == tags[-1]

    def test_etags_differ_between_tasks(self, api: TasksApi) -> None:
        first, second = api.create(), api.create()
        assert etag(api, first["id"]) != etag(api, second["id"])


@pytest.mark.parametrize(("method", "suffix", "body"), WRITES)
class TestIfMatch:
    def test_a_stale_tag_is_412_and_changes_nothing(
        self, api: TasksApi, method: str, suffix: str, body: Any
    ) -> None:
        task = api.create(title="original")
        stale = etag(api, task["id"])
        api.call("PATCH", api.url(task["id"]), {"description": "someone else's edit"})
        before = api.call("GET", api.url(task["id"])).json()
        response = api.call(method, api.url(task["id"], suffix), body, HTTP_IF_MATCH=stale)
        assert response.status_code == 412
        assert set(response.json()) == {"detail"}
        assert api.call("GET", api.url(task["id"])).json() == before

    @pytest.mark.parametrize("tag", ["current", "*", "list"])
    def test_a_matching_tag_proceeds(
        self, api: TasksApi, method: str, suffix: str, body: Any, tag: str
    ) -> None:
        task = api.create()
        current = etag(api, task["id"])
        header = {"current": current, "*": "*", "list": f'"0-0", {current}'}[tag]
        response = api.call(method, api.url(task["id"], suffix), body, HTTP_IF_MATCH=header)
        assert response.status_code == SUCCESS_STATUS[method]

    @pytest.mark.parametrize("header", ['W/"{id}-1"', "garbage", "", '"{id}-1"x'])
    def test_weak_or_malformed_tags_never_match(
        self, api: TasksApi, method: str, suffix: str, body: Any, header: str
    ) -> None:
        task = api.create()
        header = header.format(id=task["id"])
        response = api.call(method, api.url(task["id"], suffix), body, HTTP_IF_MATCH=header)
        assert response.status_code == 412

    def test_a_missing_task_is_404_not_412(
        self, api: TasksApi, method: str, suffix: str, body: Any
    ) -> None:
        response = api.call(method, api.url(424242, suffix), body, HTTP_IF_MATCH='"424242-1"')
        assert response.status_code == 404

    def test_without_if_match_writes_proceed(
        self, api: TasksApi, method: str, suffix: str, body: Any
    ) -> None:
        task = api.create()
        api.call("PATCH", api.url(task["id"]), {"description": "bump"})
        response = api.call(method, api.url(task["id"], suffix), body)
        assert response.status_code == SUCCESS_STATUS[method]


def test_two_tabs_cannot_overwrite_each_other(api: TasksApi) -> None:
    task = api.create(title="draft")
    seen = etag(api, task["id"])
    first = api.call("PUT", api.url(task["id"]), {"title": "tab one"}, HTTP_IF_MATCH=seen)
    second = api.call("PUT", api.url(task["id"]), {"title": "tab two"}, HTTP_IF_MATCH=seen)
    assert (first.status_code, second.status_code) == (200, 412)
    assert api.call("GET", api.url(task["id"])).json()["title"] == "tab one"


class TestIdempotencyKey:
    def post(self, api: TasksApi, body: Any, key: str | None = "key-1") -> Any:
        headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        return api.call("POST", api.url(), body, **headers)

    def test_a_retry_returns_the_original_201_and_creates_nothing(self, api: TasksApi) -> None:
        first = self.post(api, {"title": "Buy milk", "priority": "high"})
        api.call("PATCH", api.url(first.json()["id"]), {"title": "changed since"})
        retry = api.call(
            "POST", api.url(), raw=b'{"priority":"high",  "title":"Buy milk"}',
            HTTP_IDEMPOTENCY_KEY="key-1",
        )  # fmt: skip
        assert retry.status_code == 201
        assert retry.content == first.content  # byte for byte, not only the same JSON
        assert (retry["Location"], retry["ETag"]) == (first["Location"], first["ETag"])
        assert api.call("GET", api.url()).json()["count"] == 1

    def test_the_same_key_with_another_body_is_409(self, api: TasksApi) -> None:
        self.post(api, {"title": "Buy milk"})
        response = self.post(api, {"title": "Buy bread"})
        assert response.status_code == 409
        assert set(response.json()) == {"detail"}
        assert api.call("GET", api.url()).json()["count"] == 1

    def test_keys_are_per_user(self, api: TasksApi, api_for: Any) -> None:
        other = api_for(f"{api.user_id}-other")
        mine = self.post(api, {"title": "Buy milk"})
        theirs = self.post(other, {"title": "Something else entirely"})
        assert (mine.status_code, theirs.status_code) == (201, 201)
        assert theirs.json()["id"] != mine.json()["id"]
        assert other.call("GET", other.url()).json()["count"] == 1

    def test_without_the_header_every_post_creates(self, api: TasksApi) -> None:
        for _ in range(2):
            assert self.post(api, {"title": "Buy milk"}, key=None).status_code == 201
        assert api.call("GET", api.url()).json()["count"] == 2

    def test_different_keys_create_different_tasks(self, api: TasksApi) -> None:
        self.post(api, {"title": "t"}, key="a")
        self.post(api, {"title": "t"}, key="b")
        assert api.call("GET", api.url()).json()["count"] == 2

    @pytest.mark.parametrize("key", ["", "k" * 256, "a\x00b", "a\nb"])
    def test_invalid_keys_are_422(self, api: TasksApi, key: str) -> None:
        response = self.post(api, {"title": "t"}, key=key)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
        assert api.call("GET", api.url()).json()["count"] == 0

    def test_a_key_of_255_characters_is_fine(self, api: TasksApi) -> None:
        assert self.post(api, {"title": "t"}, key="k" * 255).status_code == 201

    def test_a_failed_validation_does_not_burn_the_key(self, api: TasksApi) -> None:
        assert self.post(api, {"title": ""}).status_code == 422
        assert self.post(api, {"title": "fixed"}).status_code == 201
        assert IdempotencyRecord.objects.for_user(api.user_id).count() == 1

    def records(self, api: TasksApi) -> list[int]:
        return sorted(
            IdempotencyRecord.objects.for_user(api.user_id).values_list("task_id", flat=True)
        )

    def test_deleting_a_task_deletes_its_idempotency_record(self, api: TasksApi) -> None:
        gone = self.post(api, {"title": "private text"}, key="a").json()
        kept = self.post(api, {"title": "kept"}, key="b").json()
        assert api.call("DELETE", api.url(gone["id"])).status_code == 204
        assert self.records(api) == [kept["id"]]
        # The key is free again: the same key and body create a new task, not a replay.
        again = self.post(api, {"title": "private text"}, key="a")
        assert (again.status_code, again.json()["id"] != gone["id"]) == (201, True)

    def test_clearing_completed_tasks_deletes_their_idempotency_records(
        self, api: TasksApi
    ) -> None:
        done = self.post(api, {"title": "done"}, key="a").json()
        open_ = self.post(api, {"title": "open"}, key="b").json()
        api.call("PATCH", api.url(done["id"], "/complete"))
        assert api.call("DELETE", api.url(status="completed")).json() == {"deleted": 1}
        assert self.records(api) == [open_["id"]]

    def test_the_same_data_in_another_form_is_a_retry(self, api: TasksApi) -> None:
        first = self.post(api, {"title": "Buy milk", "priority": "medium"})
        retry = self.post(api, {"title": "  Buy milk ", "unknown": 1})
        assert (retry.status_code, retry.json()) == (201, first.json())
        assert api.call("GET", api.url()).json()["count"] == 1
