"""End to end with the real Better Auth: sign up, sign in, get a JWT, call this API over HTTP.

Nothing here mints tokens itself: every token comes from a running better-auth server.
"""

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.e2e.conftest import Api, BetterAuthServer, http

pytestmark = pytest.mark.django_db(transaction=True)


def segment_of(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def header_of(token: str) -> dict[str, Any]:
    return segment_of(token, 0)


def refusals(reason: str) -> float:
    """auth_refusals_total{reason}: the live server runs in this process."""
    return REGISTRY.get_sample_value("auth_refusals_total", {"reason": reason}) or 0.0


def test_two_real_users_full_task_lifecycle_and_isolation(
    better_auth: BetterAuthServer, trust: Callable[..., None], api: Api
) -> None:
    trust(better_auth)
    ann, bob = better_auth.sign_up("Ann"), better_auth.sign_up("Bob")
    ann_jwt, bob_jwt = ann.jwt(), bob.session_jwt()
    assert header_of(ann_jwt)["alg"] == "EdDSA"

    me = api("GET", "/me", ann_jwt)
    assert (me.status, me.body) == (200, {"id": ann.id, "email": ann.email, "name": "Ann"})
    assert api("GET", "/me", bob_jwt).body["id"] == bob.id

    created = api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": " Buy milk ", "priority": "high"})
    assert created.status == 201
    task = created.body
    assert (task["title"], task["priority"], task["completed"]) == ("Buy milk", "high", False)
    assert created.headers["location"].endswith(f"/api/{ann.id}/tasks/{task['id']}")
    path = f"/{ann.id}/tasks/{task['id']}"

    assert api("GET", path, ann_jwt).body == task
    listed = api("GET", f"/{ann.id}/tasks", ann_jwt).body
    assert (listed["count"], [t["id"] for t in listed["items"]]) == (1, [task["id"]])

    put = api("PUT", path, ann_jwt, {"title": "Buy oat milk", "due_date": "2026-12-01"})
    assert (put.status, put.body["title"], put.body["priority"]) == (200, "Buy oat milk", "medium")
    patched = api("PATCH", path, ann_jwt, {"description": "2 litres"})
    assert (patched.body["description"], patched.body["due_date"]) == ("2 litres", "2026-12-01")
    toggled = api("PATCH", f"{path}/complete", ann_jwt)
    assert toggled.body["completed"] is True

    # Bob: Ann's task does not exist for him, and Ann's path is forbidden to him.
    assert api("GET", f"/{bob.id}/tasks/{task['id']}", bob_jwt).status == 404
    assert api("PATCH", f"/{bob.id}/tasks/{task['id']}/complete", bob_jwt).status == 404
    assert api("DELETE", f"/{bob.id}/tasks/{task['id']}", bob_jwt).status == 404
    assert api("GET", f"/{ann.id}/tasks", bob_jwt).status == 403
    assert api("GET", f"/{bob.id}/tasks", bob_jwt).body == {"items": [], "count": 0}
    assert api("DELETE", f"/{bob.id}/tasks?status=completed", bob_jwt).body == {"deleted": 0}

    assert api("DELETE", f"/{ann.id}/tasks?status=completed", ann_jwt).body == {"deleted": 1}
    assert api("GET", path, ann_jwt).status == 404
    again = api("POST", f"/{ann.id}/tasks", ann_jwt, {"title": "Walk"}).body
    deleted = api("DELETE", f"/{ann.id}/tasks/{again['id']}", ann_jwt)
    assert (deleted.status, deleted.body) == (204, None)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "ES512"])
def test_other_key_algorithms(
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    api: Api,
    alg: str,
) -> None:
    server = start_better_auth(BA_KEY_ALG=alg)
    trust(server)
    user = server.sign_up("Cy")
    token = user.jwt()
    assert header_of(token)["alg"] == alg
    assert api("GET", "/me", token).body["id"] == user.id


def test_custom_issuer_and_audience(
    start_better_auth: Callable[..., BetterAuthServer], trust: Callable[..., None], api: Api
) -> None:
    server = start_better_auth(BA_JWT_ISSUER="https://auth.example.com", BA_JWT_AUDIENCE="todo-api")
    user = server.sign_up("Di")
    token = user.jwt()

    trust(server)  # expects iss = aud = the base URL, which these tokens do not carry
    refused = api("GET", "/me", token)
    assert refused.status == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]

    trust(server, BETTER_AUTH_ISSUER="https://auth.example.com", BETTER_AUTH_AUDIENCE=["todo-api"])
    assert api("GET", "/me", token).body["id"] == user.id


@pytest.mark.parametrize("path", ["/auth", "/auth/", "/api/auth", "/api/auth/"])
def test_better_auth_under_a_path_needs_only_better_auth_url(
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    api: Api,
    path: str,
) -> None:
    """The same BETTER_AUTH_URL on both sides; Better Auth signs with the origin only."""
    server = start_better_auth(BA_BASE_PATH=path)
    assert server.url == server.origin + path
    assert server.auth_url == server.origin + path.rstrip("/")
    trust(server)
    user = server.sign_up("Kai")
    token = user.jwt()
    claims = segment_of(token, 1)
    # What the whole URL as iss/aud and {url}/api/auth/jwks expected: neither is there.
    assert claims["iss"] == claims["aud"] == server.origin != server.url.rstrip("/")
    assert http("GET", f"{server.url.rstrip('/')}/api/auth/jwks").status == 404

    assert api("GET", "/me", token).body["id"] == user.id
    assert api("GET", "/me", user.hs256_token()).body["id"] == user.id


def test_better_auths_session_data_cookie_is_refused(
    start_better_auth: Callable[..., BetterAuthServer], trust: Callable[..., None], api: Api
) -> None:
    """Golden vector: session.cookieCache { strategy: "jwt" } signs the better-auth.session_data
    cookie with HS256 and BETTER_AUTH_SECRET, and gives it no sub, iss or aud."""
    server = start_better_auth(BA_COOKIE_CACHE="jwt")
    trust(server)
    user = server.sign_up("Lou")
    cookie = user.cookies["better-auth.session_data"]
    assert header_of(cookie) == {"alg": "HS256"}
    claims = segment_of(cookie, 1)
    assert claims["user"]["id"] == user.id
    assert not {"sub", "iss", "aud"} & claims.keys()

    before = refusals("missing_claim")
    refused = api("GET", "/me", cookie)
    assert (refused.status, refused.body) == (401, {"detail": "The token lacks a required claim."})
    challenge = refused.headers["www-authenticate"]
    assert 'error_description="The token lacks a required claim."' in challenge
    assert refusals("missing_claim") == before + 1


def test_token_from_an_unrelated_better_auth_is_refused(
    better_auth: BetterAuthServer,
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    api: Api,
) -> None:
    stranger = start_better_auth()
    trust(better_auth)
    token = stranger.sign_up("Eve").jwt()
    refused = api("GET", "/me", token)
    assert refused.status == 401
    assert refused.body == {"detail": refused.body["detail"]}


def test_rotated_key_is_picked_up_without_a_restart(
    start_better_auth: Callable[..., BetterAuthServer], trust: Callable[..., None], api: Api
) -> None:
    server = start_better_auth()
    trust(server)
    user = server.sign_up("Flo")
    old_token = user.jwt()
    assert api("GET", "/me", old_token).status == 200  # the JWKS is now cached

    new_kid = server.rotate_key()
    new_token = user.jwt()
    assert header_of(new_token)["kid"] == new_kid != header_of(old_token)["kid"]
    assert api("GET", "/me", new_token).body["id"] == user.id
    assert api("GET", "/me", old_token).status == 200  # the old key is still published


def test_shared_secret_hs256_flow(
    better_auth: BetterAuthServer, trust: Callable[..., None], api: Api
) -> None:
    trust(better_auth)
    user = better_auth.sign_up("Gus")
    token = user.hs256_token()
    assert header_of(token)["alg"] == "HS256"
    assert api("GET", "/me", token).body["id"] == user.id
    created = api("POST", f"/{user.id}/tasks", token, {"title": "from a Next.js route handler"})
    assert created.status == 201

    trust(better_auth, BETTER_AUTH_SECRET="another-secret-of-at-least-32-characters")
    assert api("GET", "/me", token).status == 401


def test_jwt_stays_valid_after_sign_out_until_it_expires(
    better_auth: BetterAuthServer, trust: Callable[..., None], api: Api
) -> None:
    """The stateless trade-off: sign-out ends the session, not JWTs already issued."""
    trust(better_auth)
    user = better_auth.sign_up("Hal")
    token = user.jwt()
    user.sign_out()
    assert user.call("GET", "/token").status == 401  # no new JWTs for this session
    assert api("GET", "/me", token).status == 200  # but the issued one lives until exp
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 15 * 60


def test_better_auth_session_token_is_refused_with_a_hint(
    better_auth: BetterAuthServer, trust: Callable[..., None], api: Api
) -> None:
    trust(better_auth)
    user = better_auth.sign_up("Ivy")
    refused = api("GET", "/me", user.session_token)
    assert refused.status == 401
    assert "/api/auth/token" in refused.headers["www-authenticate"]


def with_kid(token: str, kid: str) -> str:
    """The same token under another kid: what an attacker sends to spend the cooldown."""
    header = {**header_of(token), "kid": kid}
    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{segment}.{token.split('.', 1)[1]}"


def test_a_key_rotated_right_after_a_forged_kid_is_503_then_200_never_401(
    start_better_auth: Callable[..., BetterAuthServer], trust: Callable[..., None], api: Api
) -> None:
    """Better Auth rotates keys by itself; a forged kid just before must not sign anyone out."""
    server = start_better_auth()
    trust(server, BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS=2.0)
    user = server.sign_up("Jo")
    old_token = user.jwt()
    assert api("GET", "/me", old_token).status == 200  # the JWKS is now cached
    # Looked up and absent, but issued just now: it might be a key no JWKS has shown yet.
    assert api("GET", "/me", with_kid(old_token, "forged")).status == 503

    new_kid = server.rotate_key()
    new_token = user.jwt()
    assert header_of(new_token)["kid"] == new_kid
    statuses = []
    for _ in range(20):  # the client does what the 503 says; no clock is asserted
        reply = api("GET", "/me", new_token)
        statuses.append(reply.status)
        if reply.status != 503:
            break
        time.sleep(int(reply.headers["retry-after"]))
    assert statuses[0] == 503  # inside the cooldown the new kid cannot be looked up yet
    assert statuses[-1] == 200
    assert 401 not in statuses
    assert api("GET", "/me", new_token).body["id"] == user.id
