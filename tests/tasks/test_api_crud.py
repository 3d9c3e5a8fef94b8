"""Create, read, replace, update, delete and complete one task: shapes, rules and status codes."""

import re
from typing import Any

import pytest
from django.db import OperationalError

from tasks import services
from tests.tasks.conftest import BOTH_TOKEN_KINDS, TasksApi

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
TASK_FIELDS = [
    "id", "title", "description", "completed", "priority", "due_date", "created_at", "updated_at",
]  # fmt: skip


def field_errors(response: Any) -> list[tuple[str, str]]:
    """The (source, field) pairs a 422 names, e.g. ("body", "title")."""
    assert response.status_code == 422, response.content
    return [(error["loc"][0], error["loc"][-1]) for error in response.json()["detail"]]


class TestCreate:
    @BOTH_TOKEN_KINDS
    def test_answers_201_with_the_task_location_and_etag(self, api: TasksApi) -> None:
        response = api.call("POST", api.url(), {"title": "Buy milk"})
        assert response.status_code == 201
        task = response.json()
        assert list(task) == TASK_FIELDS
        assert task == {
            "id": task["id"],
            "title": "Buy milk",
            "description": "",
            "completed": False,
            "priority": "medium",
            "due_date": None,
            "created_at": task["created_at"],
            "updated_at": task["created_at"],
        }
        assert isinstance(task["id"], int)
        assert TIMESTAMP.fullmatch(task["created_at"])
        assert response["Location"] == f"/api/{api.user_id}/tasks/{task['id']}"
        assert response["ETag"] == f'"{task["id"]}-1"'
        assert response["Content-Type"] == "application/json; charset=utf-8"

    def test_all_fields(self, api: TasksApi) -> None:
        body = {
            "title": "  Report ",
            "description": "Q3",
            "priority": "high",
            "due_date": "2026-12-01",
        }
        task = api.create(**body)
        assert (task["title"], task["description"], task["priority"], task["due_date"]) == (
            "Report",
            "Q3",
            "high",
            "2026-12-01",
        )

    def test_server_owned_and_unknown_fields_change_nothing(self, api: TasksApi) -> None:
        task = api.create(
            id=999_999, user_id="mallory", completed=True, created_at="2000-01-01T00:00:00Z",
            version=42, owner="mallory",
        )  # fmt: skip
        assert task["id"] != 999_999
        assert task["completed"] is False
        assert not task["created_at"].startswith("2000")
        assert api.call("GET", api.url(task["id"])).json() == task


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": ""}, "title", id="title-0"),
        pytest.param({"title": "x" * 201}, "title", id="title-201"),
        pytest.param({"title": " \t\n "}, "title", id="title-whitespace-only"),
        pytest.param({"description": "no title"}, "title", id="title-missing"),
        pytest.param({"title": None}, "title", id="title-null"),
        pytest.param({"title": "t", "description": "d" * 1001}, "description", id="desc-1001"),
        pytest.param({"title": "t", "priority": "urgent"}, "priority", id="priority"),
        pytest.param({"title": "t", "due_date": "2026-02-30"}, "due_date", id="due-date"),
        pytest.param({"title": "t", "due_date": "2026-12-01T10:00:00Z"}, "due_date", id="due-time"),
    ],
)
def test_create_validation_names_the_field(api: TasksApi, body: dict[str, Any], field: str) -> None:
    assert field_errors(api.call("POST", api.url(), body)) == [("body", field)]
    assert api.call("GET", api.url()).json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": "x"}, id="title-1"),
        pytest.param({"title": "x" * 200}, id="title-200"),
        pytest.param({"title": "t", "description": "d" * 1000}, id="desc-1000"),
        pytest.param({"title": "t", "due_date": None}, id="due-date-null"),
    ],
)
def test_create_accepts_the_limits(api: TasksApi, body: dict[str, Any]) -> None:
    task = api.create(**body)
    assert {name: task[name] for name in body} == body


def test_every_error_is_listed_at_once(api: TasksApi) -> None:
    response = api.call("POST", api.url(), {"title": "", "priority": "x", "description": 5})
    assert sorted(field for _, field in field_errors(response)) == [
        "description", "priority", "title",
    ]  # fmt: skip
    assert {"type", "loc", "msg"} <= set(response.json()["detail"][0])


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        pytest.param(b'{"title": "x",', 400, id="truncated-json"),
        pytest.param(b"title=x", 400, id="form-encoded"),
        pytest.param(b"\xff\xfe", 400, id="not-utf8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, 400, id="deeply-nested"),
        pytest.param(b'["title"]', 400, id="array"),
        pytest.param(b'"title"', 400, id="string"),
        pytest.param(b"null", 400, id="null"),
        pytest.param(b"17", 400, id="number"),
        pytest.param(b"", 422, id="empty"),
    ],
)
def test_malformed_bodies_answer_json(api: TasksApi, raw: bytes, status: int) -> None:
    response = api.call("POST", api.url(), raw=raw)
    assert response.status_code == status
    assert "detail" in response.json()


def test_bodies_over_64_kib_answer_413(api: TasksApi) -> None:
    raw = b'{"title": "x", "description": "' + b"d" * (64 * 1024) + b'"}'
    response = api.call("POST", api.url(), raw=raw)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 64 KiB."}


@pytest.mark.parametrize("declared", ["70000", "999999999999"])
def test_a_content_length_over_the_limit_is_413_before_reading(
    api: TasksApi, declared: str
) -> None:
    response = api.call("POST", api.url(), {"title": "small"}, CONTENT_LENGTH=declared)
    assert response.status_code == 413
    assert api.call("GET", api.url()).json()["count"] == 0


def test_an_understated_content_length_never_500s(api: TasksApi) -> None:
    response = api.call("POST", api.url(), {"title": "short"}, CONTENT_LENGTH="3")
    assert response.status_code == 400


class TestRead:
    def test_get_answers_the_task_and_its_etag(self, api: TasksApi) -> None:
        task = api.create(title="Read me", due_date="2026-01-31")
        response = api.call("GET", api.url(task["id"]))
        assert response.status_code == 200
        assert response.json() == task
        assert response["ETag"] == f'"{task["id"]}-1"'

    @pytest.mark.parametrize("task_id", ["0", "-1", "424242", str(2**63), "9" * 40])
    def test_missing_ids_are_404(self, api: TasksApi, task_id: str) -> None:
        response = api.call("GET", api.url(task_id))
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}

    @pytest.mark.parametrize("task_id", ["abc", "1.5", "%20", "1e3"])
    def test_ids_that_are_not_integers_are_422(self, api: TasksApi, task_id: str) -> None:
        response = api.call("GET", api.url(task_id))
        assert response.status_code == 422
        assert [error["loc"] for error in response.json()["detail"]] == [["path", "task_id"]]


class TestReplace:
    def test_put_replaces_and_resets_omitted_fields(self, api: TasksApi) -> None:
        task = api.create(title="t", description="d", priority="high", due_date="2026-01-01")
        response = api.call("PUT", api.url(task["id"]), {"title": " New "})
        assert response.status_code == 200
        replaced = response.json()
        assert replaced == {
            **task,
            "title": "New",
            "description": "",
            "priority": "medium",
            "due_date": None,
            "completed": False,
            "updated_at": replaced["updated_at"],
        }
        assert replaced["updated_at"] > task["updated_at"]
        assert response["ETag"] == f'"{task["id"]}-2"'

    def test_put_sets_completed(self, api: TasksApi) -> None:
        task = api.create()
        body = {"title": "t", "completed": True, "priority": "low", "due_date": "2027-01-01"}
        replaced = api.call("PUT", api.url(task["id"]), body).json()
        assert {name: replaced[name] for name in body} == body

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"description": "no title"}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"title": "t", "completed": "yes"}, "completed"),
        ],
    )
    def test_put_validation(self, api: TasksApi, body: dict[str, Any], field: str) -> None:
        task = api.create()
        assert field_errors(api.call("PUT", api.url(task["id"]), body)) == [("body", field)]
        assert api.call("GET", api.url(task["id"])).json() == task

    def test_put_on_a_missing_task_is_404(self, api: TasksApi) -> None:
        assert api.call("PUT", api.url(424242), {"title": "t"}).status_code == 404


class TestPatch:
    def test_patch_changes_only_the_fields_sent(self, api: TasksApi) -> None:
        task = api.create(title="t", description="keep", due_date="2026-01-01")
        response = api.call("PATCH", api.url(task["id"]), {"priority": "low", "due_date": None})
        assert response.status_code == 200
        assert response.json() == {
            **task,
            "priority": "low",
            "due_date": None,
            "updated_at": response.json()["updated_at"],
        }
        assert response["ETag"] == f'"{task["id"]}-2"'

    def test_an_empty_patch_changes_nothing(self, api: TasksApi) -> None:
        task = api.create()
        response = api.call("PATCH", api.url(task["id"]), {})
        assert (response.status_code, response.json()) == (200, task)
        assert response["ETag"] == f'"{task["id"]}-1"'

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": ""}, "title"),
            ({"title": "   "}, "title"),
            ({"title": None}, "title"),
            ({"description": "d" * 1001}, "description"),
            ({"priority": None}, "priority"),
            ({"completed": None}, "completed"),
        ],
    )
    def test_patch_validation(self, api: TasksApi, body: dict[str, Any], field: str) -> None:
        task = api.create()
        assert field_errors(api.call("PATCH", api.url(task["id"]), body)) == [("body", field)]

    def test_patch_ignores_server_owned_fields(self, api: TasksApi) -> None:
        task = api.create()
        body = {"id": 1, "user_id": "mallory", "created_at": "2000-01-01T00:00:00Z"}
        assert api.call("PATCH", api.url(task["id"]), body).json() == task


class TestDelete:
    def test_delete_answers_204_without_a_body(self, api: TasksApi) -> None:
        task = api.create()
        response = api.call("DELETE", api.url(task["id"]))
        assert (response.status_code, response.content) == (204, b"")
        assert api.call("GET", api.url(task["id"])).status_code == 404

    def test_deleting_twice_is_404(self, api: TasksApi) -> None:
        task = api.create()
        api.call("DELETE", api.url(task["id"]))
        response = api.call("DELETE", api.url(task["id"]))
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


class TestComplete:
    def test_no_body_toggles(self, api: TasksApi) -> None:
        task = api.create()
        url = api.url(task["id"], "/complete")
        first = api.call("PATCH", url)
        assert (first.status_code, first.json()["completed"]) == (200, True)
        assert first["ETag"] == f'"{task["id"]}-2"'
        assert api.call("PATCH", url).json()["completed"] is False

    @pytest.mark.parametrize("body", [{}, {"completed": None}])
    def test_a_body_without_a_value_toggles_too(self, api: TasksApi, body: dict[str, Any]) -> None:
        task = api.create()
        assert api.call("PATCH", api.url(task["id"], "/complete"), body).json()["completed"]

    @pytest.mark.parametrize("value", [True, False])
    def test_a_value_sets_and_is_safe_to_retry(self, api: TasksApi, value: bool) -> None:
        task = api.create()
        url = api.url(task["id"], "/complete")
        for _ in range(3):
            response = api.call("PATCH", url, {"completed": value})
            assert (response.status_code, response.json()["completed"]) == (200, value)
        expected_version = 2 if value else 1  # setting the current value changes nothing
        assert response["ETag"] == f'"{task["id"]}-{expected_version}"'

    @pytest.mark.parametrize("value", ["true", 1, "x"])
    def test_the_value_must_be_a_boolean(self, api: TasksApi, value: Any) -> None:
        task = api.create()
        response = api.call("PATCH", api.url(task["id"], "/complete"), {"completed": value})
        assert field_errors(response) == [("body", "completed")]

    def test_complete_on_a_missing_task_is_404(self, api: TasksApi) -> None:
        assert api.call("PATCH", api.url(424242, "/complete")).status_code == 404


@pytest.mark.parametrize("due_date", [None, "2026-12-01"], ids=["no-due", "due"])
def test_every_write_answers_the_bytes_a_read_answers(api: TasksApi, due_date: str | None) -> None:
    """Create, PATCH, PUT and the toggle render the task exactly as a GET right after them."""

    def assert_answers_as_read(written: Any, status: int) -> None:
        read = api.call("GET", api.url(task_id))
        assert written.status_code == status, written.content
        assert (written.content, written["ETag"]) == (read.content, read["ETag"])

    body = {"title": " Buy milk ", "description": "2 l", "priority": "high", "due_date": due_date}
    created = api.call("POST", api.url(), body)
    task_id = created.json()["id"]
    assert_answers_as_read(created, 201)
    patch = {"title": "Buy bread", "due_date": due_date}
    assert_answers_as_read(api.call("PATCH", api.url(task_id), patch), 200)
    put = {"title": "Buy rice", "completed": True}
    assert_answers_as_read(api.call("PUT", api.url(task_id), put), 200)
    assert_answers_as_read(api.call("PATCH", api.url(task_id, "/complete")), 200)


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PUT", "", {"title": "t"}),
        ("PATCH", "", {"title": "t"}),
        ("PATCH", "/complete", None),
        ("DELETE", "", None),
    ],
)
@pytest.mark.parametrize("task_id", [2**63, 2**64 + 1, 10**40])
def test_ids_beyond_bigint_are_404_for_every_method(
    api: TasksApi, method: str, suffix: str, body: Any, task_id: int
) -> None:
    response = api.call(method, api.url(task_id, suffix), body, HTTP_IF_MATCH="*")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


class TestFailures:
    def test_an_unexpected_error_is_a_json_500_without_details(
        self, api: TasksApi, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def crash(**kwargs: Any) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(services, "delete_task", crash)
        # The test client re-raises what Django reports (tests/test_errors.py checks the report).
        api.client.raise_request_exception = False
        response = api.call("DELETE", api.url(1))
        assert (response.status_code, response.json()) == (
            500,
            {"detail": "Internal server error."},
        )
        assert b"secret" not in response.content

    def test_a_database_outage_is_503_with_retry_after(
        self, api: TasksApi, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def outage(**kwargs: Any) -> None:
            raise OperationalError("connection refused")

        monkeypatch.setattr(services, "delete_task", outage)
        response = api.call("DELETE", api.url(1))
        assert response.status_code == 503
        assert response.json() == {"detail": "The database is unreachable."}
        assert response["Retry-After"] == "5"


class TestAuth:
    """The tasks routes answer §5's 401 and 403 (the details are authbridge's own tests)."""

    @pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
    def test_no_token_is_401_with_a_challenge(self, api: TasksApi, method: str) -> None:
        response = api.call(method, api.url(), {"title": "t"}, HTTP_AUTHORIZATION="")
        assert response.status_code == 401
        assert set(response.json()) == {"detail"}
        assert response["WWW-Authenticate"].startswith('Bearer realm="todo-api"')

    @BOTH_TOKEN_KINDS
    def test_an_expired_token_is_401(self, api: TasksApi, auth_headers: Any) -> None:
        expired = auth_headers(api.user_id, exp=1_000_000_000)
        response = api.call("GET", api.url(), **expired)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response["WWW-Authenticate"]

    def test_a_path_naming_another_user_is_403(self, api: TasksApi) -> None:
        response = api.call("GET", f"/api/{api.user_id}-other/tasks")
        assert response.status_code == 403
        assert set(response.json()) == {"detail"}
