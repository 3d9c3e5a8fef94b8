"""Account deletion with the real Better Auth: its beforeDelete hook erases the user's data here
first (DELETE /api/{id}/account, with a token from the jwt plugin's signJWT), and a failed
erasure aborts the deletion, so data never outlives an account and an account never loses its
data without being deleted.
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError

from tasks import erasure
from tasks.models import ErasedUser, Task
from tests.e2e.conftest import Api, BetterAuthServer, BetterAuthUser, http

pytestmark = pytest.mark.django_db(transaction=True)


def delete_account(user: BetterAuthUser) -> Any:
    """authClient.deleteUser(): POST /api/auth/delete-user with the session."""
    headers = {"Authorization": f"Bearer {user.session_token}"}
    return http("POST", f"{user.server.auth_url}/delete-user", body={}, headers=headers)


def sign_in(user: BetterAuthUser) -> int:
    body = {"email": user.email, "password": "correct-horse-battery"}
    return http("POST", f"{user.server.auth_url}/sign-in/email", body=body).status


@pytest.fixture
def server(
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    live_server: Any,
) -> BetterAuthServer:
    started = start_better_auth(BA_ERASE_URL=live_server.url)
    trust(started)
    return started


def test_deleting_the_account_erases_its_data_first(server: BetterAuthServer, api: Api) -> None:
    ann, bob = server.sign_up("Ann"), server.sign_up("Bob")
    ann_jwt, bob_jwt = ann.jwt(), bob.jwt()
    for title in ("one", "two"):
        assert api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": title}).status == 201
    assert api("POST", f"/{bob.id}/tasks", bob_jwt, {"title": "Bob's"}).status == 201

    deleted = delete_account(ann)

    assert (deleted.status, deleted.body) == (200, {"success": True, "message": "User deleted"})
    assert not Task.unscoped.filter(user_id=ann.id).exists()
    assert ErasedUser.unscoped.filter(user_id=ann.id).exists()
    # Ann's earlier token is still a valid token, but it cannot bring data back.
    assert api("GET", f"/{ann.id}/tasks", ann_jwt).body == {"items": [], "count": 0}
    refused = api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": "back"})
    assert refused.status == 401
    assert "deleted after this token was issued" in refused.body["detail"]
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert sign_in(ann) == 401  # the account is gone too
    assert ann.call("GET", "/token").status == 401
    # Bob is untouched.
    assert [t["title"] for t in api("GET", f"/{bob.id}/tasks", bob_jwt).body["items"]] == ["Bob's"]
    assert api("POST", f"/{bob.id}/tasks", bob_jwt, {"title": "more"}).status == 201


def test_a_failed_erasure_aborts_the_deletion(
    server: BetterAuthServer, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = server.sign_up("Ann")
    ann_jwt = ann.jwt()
    assert api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": "kept"}).status == 201

    def database_down(user_id: str) -> erasure.Erased:
        raise OperationalError("connection refused")

    monkeypatch.setattr(erasure, "erase_user", database_down)  # the API answers 503
    refused = delete_account(ann)
    assert refused.status == 503
    assert "could not be erased" in refused.body["message"]
    assert sign_in(ann) == 200  # the account stays ...
    assert Task.unscoped.filter(user_id=ann.id).count() == 1  # ... with its data
    assert api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": "still mine"}).status == 201

    monkeypatch.undo()  # the API is back: deleting again completes
    assert delete_account(ann).status == 200
    assert not Task.unscoped.filter(user_id=ann.id).exists()
    assert sign_in(ann) == 401
