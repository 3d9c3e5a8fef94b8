"""No request lets a user read, change, delete or even detect another user's task (CONTRACT §6)."""

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.tasks.conftest import BOTH_TOKEN_KINDS, SUCCESS_STATUS, TasksApi

pytestmark = pytest.mark.django_db

MISSING_ID = 2**62
OPERATIONS = [
    pytest.param("GET", "", None, id="get"),
    pytest.param("PUT", "", {"title": "mine now"}, id="put"),
    pytest.param("PATCH", "", {"title": "mine now"}, id="patch"),
    pytest.param("PATCH", "/complete", None, id="toggle"),
    pytest.param("PATCH", "/complete", {"completed": True}, id="set-completed"),
    pytest.param("DELETE", "", None, id="delete"),
]


def answer(response: Any) -> tuple[int, Any, str | None]:
    """What a client can observe: status, body and the headers that could leak."""
    body = response.json() if response.content else None
    return response.status_code, body, response.get("ETag")


@pytest.mark.parametrize("if_match", [None, "*", "own-etag"])
@pytest.mark.parametrize(("method", "suffix", "body"), OPERATIONS)
def test_another_users_task_answers_exactly_like_a_missing_one(
    api_for: Callable[[str], TasksApi],
    method: str,
    suffix: str,
    body: Any,
    if_match: str | None,
) -> None:
    ann, bob = api_for(f"ann-{uuid.uuid4().hex}"), api_for(f"bob-{uuid.uuid4().hex}")
    theirs = bob.create(title="bob's secret")
    before = bob.call("GET", bob.url(theirs["id"])).json()

    def attempt(task_id: int) -> Any:
        headers: dict[str, Any] = {}
        if if_match is not None:
            tag = "*" if if_match == "*" else f'"{task_id}-1"'
            headers["HTTP_IF_MATCH"] = tag
        return ann.call(method, ann.url(task_id, suffix), body, **headers)

    assert answer(attempt(theirs["id"])) == answer(attempt(MISSING_ID)) == (
        404, {"detail": "Not Found"}, None,
    )  # fmt: skip
    assert bob.call("GET", bob.url(theirs["id"])).json() == before


def test_lists_search_and_clear_only_see_ones_own_tasks(api_for: Callable[[str], TasksApi]) -> None:
    ann, bob = api_for(f"ann-{uuid.uuid4().hex}"), api_for(f"bob-{uuid.uuid4().hex}")
    bob_task = bob.create(title="bob secret milk")
    bob.call("PATCH", bob.url(bob_task["id"], "/complete"))
    ann.create(title="ann milk")
    listing = ann.call("GET", ann.url(q="secret", status="all")).json()
    assert listing == {"items": [], "count": 0}
    assert ann.call("GET", ann.url()).json()["count"] == 1
    assert ann.call("DELETE", ann.url(status="completed")).json() == {"deleted": 0}
    assert bob.call("GET", bob.url(bob_task["id"])).status_code == 200


@BOTH_TOKEN_KINDS
def test_a_token_for_one_user_cannot_use_another_users_path(
    api_for: Callable[[str], TasksApi],
) -> None:
    ann, bob = api_for(f"ann-{uuid.uuid4().hex}"), api_for(f"bob-{uuid.uuid4().hex}")
    theirs = bob.create()
    as_bob = TasksApi(ann.client, bob.user_id, ann.headers)  # ann's token, bob's path
    existing = answer(as_bob.call("GET", as_bob.url(theirs["id"])))
    missing = answer(as_bob.call("GET", as_bob.url(MISSING_ID)))
    assert existing == missing
    assert existing[0] == 403
    assert as_bob.call("GET", as_bob.url()).status_code == 403
    assert as_bob.call("POST", as_bob.url(), {"title": "planted"}).status_code == 403
    assert bob.call("GET", bob.url()).json()["count"] == 1


def test_idempotency_keys_of_another_user_are_invisible(
    api_for: Callable[[str], TasksApi],
) -> None:
    ann, bob = api_for(f"ann-{uuid.uuid4().hex}"), api_for(f"bob-{uuid.uuid4().hex}")
    bob.call("POST", bob.url(), {"title": "bob's"}, HTTP_IDEMPOTENCY_KEY="shared")
    response = ann.call("POST", ann.url(), {"title": "ann's"}, HTTP_IDEMPOTENCY_KEY="shared")
    assert (response.status_code, response.json()["title"]) == (201, "ann's")


class Isolation(RuleBasedStateMachine):
    """Three users act on their own and each other's task ids; each sees exactly their own."""

    api_for: Callable[[str], TasksApi]
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        run = uuid.uuid4().hex[:8]
        self.users = [self.api_for(f"{name}-{run}") for name in ("ann", "bob", "cy")]
        self.model: list[dict[int, dict[str, Any]]] = [{}, {}, {}]

    def owner_of(self, task_id: int) -> int | None:
        return next((n for n, owned in enumerate(self.model) if task_id in owned), None)

    @rule(target=tasks, user=st.integers(0, 2), title=st.sampled_from(["milk", "rent", "mum"]))
    def create(self, user: int, title: str) -> int:
        task = self.users[user].create(title=title)
        self.model[user][task["id"]] = task
        return int(task["id"])

    @rule(
        actor=st.integers(0, 2),
        task_id=st.one_of(tasks, st.just(MISSING_ID)),
        op=st.sampled_from([p.values for p in OPERATIONS]),
        if_match=st.sampled_from([None, "*", "current"]),
    )
    def act(self, actor: int, task_id: int, op: tuple[Any, ...], if_match: str | None) -> None:
        method, suffix, body = op
        api, owner = self.users[actor], self.owner_of(task_id)
        headers: dict[str, Any] = {}
        if if_match == "*":
            headers["HTTP_IF_MATCH"] = "*"
        elif if_match == "current" and owner is not None:
            holder = self.users[owner]
            headers["HTTP_IF_MATCH"] = holder.call("GET", holder.url(task_id))["ETag"]
        response = api.call(method, api.url(task_id, suffix), body, **headers)
        if owner != actor:
            assert answer(response) == (404, {"detail": "Not Found"}, None)
            return
        assert response.status_code == SUCCESS_STATUS[method]
        if method == "DELETE":
            del self.model[actor][task_id]
        else:
            self.model[actor][task_id] = response.json()

    @rule(actor=st.integers(0, 2))
    def clear_completed(self, actor: int) -> None:
        api = self.users[actor]
        done = [i for i, task in self.model[actor].items() if task["completed"]]
        assert api.call("DELETE", api.url(status="completed")).json() == {"deleted": len(done)}
        for task_id in done:
            del self.model[actor][task_id]

    @invariant()
    def each_user_sees_exactly_their_own_tasks(self) -> None:
        for api, owned in zip(self.users, self.model, strict=True):
            listing = api.call("GET", api.url(ordering="created_at")).json()
            assert listing["count"] == len(owned)
            assert {task["id"]: task for task in listing["items"]} == owned


def test_no_sequence_of_requests_crosses_users(api_for: Callable[[str], TasksApi]) -> None:
    Isolation.api_for = staticmethod(api_for)
    run_state_machine_as_test(
        Isolation, settings=settings(max_examples=40, stateful_step_count=15, deadline=None)
    )
