"""Through HTTP on /api/me: every algorithm, RFC 6750 challenges, 503, 403 binding, no queries."""

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve
from ninja.errors import AuthenticationError, HttpError

from authbridge.errors import InvalidToken, UserMismatch
from authbridge.header import MAX_TOKEN_BYTES, NOT_A_JWT_HINT
from authbridge.ninja import BetterAuthBearer
from tests.authbridge.conftest import JwksServer, bearer
from tests.conftest import ASYMMETRIC_ALGS, HMAC_ALGS

pytestmark = pytest.mark.django_db

BARE_CHALLENGE = 'Bearer realm="todo-api"'
NO_CREDENTIALS = "Send Authorization: Bearer <JWT> (a Better Auth token)."


def tamper(token: str) -> str:
    """Change one signature character in the middle (the last one may only carry padding bits)."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def challenge(description: str) -> str:
    return f'Bearer realm="todo-api", error="invalid_token", error_description="{description}"'


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS + HMAC_ALGS)
def test_each_algorithm_round_trips_through_api_me(
    client: Client, make_token: Any, alg: str
) -> None:
    response = client.get("/api/me", headers=bearer(make_token(alg, sub="ann", name="Ann")))
    assert response.status_code == 200
    assert response.json() == {"id": "ann", "email": "ann@example.com", "name": "Ann"}


def test_me_without_email_or_name_answers_nulls(client: Client, make_token: Any) -> None:
    response = client.get("/api/me", headers=bearer(make_token(sub="ann", email=None, name=None)))
    assert response.json() == {"id": "ann", "email": None, "name": None}


@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_verification_runs_no_database_query(
    client: Client, make_token: Any, django_assert_num_queries: Any, alg: str
) -> None:
    token = make_token(alg)
    with django_assert_num_queries(0):
        assert client.get("/api/me", headers=bearer(token)).status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/me", headers=bearer(tamper(token))).status_code == 401


# --- 401 and its challenge (CONTRACT §5, RFC 6750 §3) ---------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Authorization": ""}, id="empty-header"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
        pytest.param({"Authorization": "Token abc"}, id="other-scheme"),
    ],
)
def test_without_a_bearer_token_the_challenge_is_bare(
    client: Client, headers: dict[str, str]
) -> None:
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    assert response.json() == {"detail": NO_CREDENTIALS}


EXPIRED = "The token has expired."
EMPTY = "The bearer token is empty."
CHALLENGED = [
    pytest.param(lambda mk: tamper(mk("EdDSA")),
                 "The token signature does not verify.", id="bad-sig"),
    pytest.param(lambda mk: mk("HS256", exp=1), EXPIRED, id="expired"),
    pytest.param(lambda mk: mk("ES256", exp=None),
                 "The token lacks a required claim.", id="no-exp"),
    pytest.param(lambda mk: mk("EdDSA", iss="https://evil.example"),
                 "The token was issued by someone else.", id="wrong-iss"),
    pytest.param(lambda mk: mk("EdDSA", aud="https://other.example"),
                 "The token is meant for another audience.", id="wrong-aud"),
    pytest.param(lambda mk: mk("HS256", sub=""),
                 "The token's subject (sub) is missing or invalid.", id="empty-sub"),
    pytest.param(lambda mk: mk("EdDSA", kid="nope"),
                 "The token was signed with an unknown key.", id="unknown-kid"),
    pytest.param(lambda mk: mk("ES256", kid="test-rs256"),
                 "The key 'test-rs256' does not fit alg ES256.", id="key-mismatch"),
    pytest.param(lambda mk: "eyJhbGciOiJub25lIn0.e30.",
                 "The token's algorithm is not accepted.", id="alg-none"),
    pytest.param(lambda mk: "x" * (MAX_TOKEN_BYTES + 1),
                 f"The token is longer than {MAX_TOKEN_BYTES} bytes.", id="too-long"),
    pytest.param(lambda mk: "a" * 32, NOT_A_JWT_HINT, id="session-token"),
    pytest.param(lambda mk: "a" * 32 + ".c2lnbmF0dXJl", NOT_A_JWT_HINT, id="signed-session-cookie"),
    pytest.param(lambda mk: "", EMPTY, id="empty"),
    pytest.param(lambda mk: "   ", EMPTY, id="blank"),
]  # fmt: skip


@pytest.mark.parametrize(("token_of", "description"), CHALLENGED)
def test_a_refused_token_gets_an_rfc6750_challenge(
    client: Client, make_token: Any, token_of: Any, description: str
) -> None:
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token_of(make_token)}")
    assert response.status_code == 401
    assert response.json() == {"detail": description}
    assert response["WWW-Authenticate"] == challenge(description)


def test_bearer_scheme_without_a_token_is_an_empty_token(client: Client) -> None:
    """The client chose Bearer, so it gets the precise challenge rather than the bare one."""
    response = client.get("/api/me", HTTP_AUTHORIZATION="Bearer")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == challenge(EMPTY)


def test_session_token_hint_names_where_to_get_a_jwt(client: Client) -> None:
    response = client.get("/api/me", headers=bearer("0GtisvCNbasH3NUKX5ppvDkX9DscROpx"))
    assert response.status_code == 401
    assert "/api/auth/token" in response["WWW-Authenticate"]
    assert "authClient.token()" in response.json()["detail"]


def test_hmac_token_without_a_secret_is_401(client: Client, make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_SECRET = ""
    response = client.get("/api/me", headers=bearer(make_token("HS256")))
    assert response.status_code == 401
    assert response.json() == {"detail": "HMAC tokens are not accepted here."}
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200


def test_asymmetric_token_without_a_jwks_is_401(
    client: Client, make_token: Any, settings: Any
) -> None:
    settings.BETTER_AUTH_JWKS = ""
    response = client.get("/api/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 401
    assert response.json() == {"detail": "Asymmetric tokens are not accepted here."}
    assert client.get("/api/me", headers=bearer(make_token("HS256"))).status_code == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_scheme_is_case_insensitive(client: Client, make_token: Any, scheme: str) -> None:
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"{scheme} {make_token()}")
    assert response.status_code == 200


def test_sub_with_nul_is_a_401_not_a_500_on_a_user_path(client: Client, make_token: Any) -> None:
    response = client.get("/api/ann%00/tasks", headers=bearer(make_token("HS256", sub="ann\x00")))
    assert response.status_code == 401
    assert "sub" in response.json()["detail"]


# --- logging (STYLE §8) -------------------------------------------------------------------------


def test_refusals_are_logged_with_reason_and_never_the_token(
    client: Client, make_token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token("EdDSA", exp=1)
    with caplog.at_level(logging.DEBUG):
        assert client.get("/api/me", headers=bearer(token)).status_code == 401
    refusals = [r for r in caplog.records if r.name == "authbridge.auth"]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.INFO
    assert "reason=expired" in refusals[0].getMessage()
    assert "alg=EdDSA" in refusals[0].getMessage()
    assert "test-eddsa" in refusals[0].getMessage()
    for record in caplog.records:
        message = record.getMessage()
        assert token not in message
        assert all(part not in message for part in token.split("."))


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("x\n2026-01-01 00:00:00 INFO forged line", id="newline"),
        pytest.param("x\r\nforged", id="crlf"),
        pytest.param("k" * 4000, id="long"),
    ],
)
def test_client_chosen_kid_cannot_forge_or_flood_log_lines(
    client: Client, make_token: Any, caplog: pytest.LogCaptureFixture, kid: str
) -> None:
    with caplog.at_level(logging.INFO, logger="authbridge"):
        response = client.get("/api/me", headers=bearer(make_token("EdDSA", kid=kid)))
    assert response.status_code == 401
    [refusal] = [r.getMessage() for r in caplog.records if r.name == "authbridge.auth"]
    assert "reason=malformed_kid" in refusal
    assert f"kid={kid[:5]!r}"[:-1] in refusal  # logged, as a capped repr
    assert "\n" not in refusal
    assert "\r" not in refusal
    assert len(refusal) < 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/other%0A2026-01-01 00:00:00 INFO forged line/tasks",
        "/api/other%0D%0Aforged/tasks",
        "/api/" + "p" * 2000 + "/tasks",
    ],
    ids=["newline", "crlf", "long"],
)
def test_a_client_chosen_path_cannot_forge_or_flood_log_lines(
    client: Client, make_token: Any, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.INFO, logger="authbridge"):
        response = client.get(path, headers=bearer(make_token("EdDSA")))
    assert response.status_code == 403
    [refusal] = [r.getMessage() for r in caplog.records if r.name == "authbridge.auth"]
    assert "reason=user_mismatch" in refusal
    assert "\n" not in refusal
    assert "\r" not in refusal
    assert len(refusal) < 400


# --- 503 when no key can be had (CONTRACT §2.8) ------------------------------------------------


def test_jwks_cold_start_outage_is_503_with_retry_after(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    use_jwks_server.mode = "fail"
    response = client.get("/api/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 503
    assert set(response.json()) == {"detail"}
    assert int(response["Retry-After"]) >= 1
    use_jwks_server.mode = "ok"
    response = client.get("/api/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 503  # within the failure backoff the JWKS is not retried
    assert use_jwks_server.requests == 1


# --- the path binding (403) -------------------------------------------------------------------


def bound_request(path: str, token: str) -> Any:
    request = RequestFactory().get(path, headers=bearer(token))
    request.resolver_match = resolve(path)
    return request


def test_bound_bearer_accepts_the_tokens_own_user(make_token: Any) -> None:
    request = bound_request("/api/ann/tasks", make_token(sub="ann"))
    identity = BetterAuthBearer(bind_path_user="user_id")(request)
    assert identity is not None
    assert identity.user_id == "ann"


@pytest.mark.parametrize("path", ["/api/bob/tasks", "/api/ANN/tasks", "/api/ann%20/tasks"])
def test_bound_bearer_refuses_another_users_path(make_token: Any, path: str) -> None:
    with pytest.raises(HttpError) as refused:
        BetterAuthBearer(bind_path_user="user_id")(bound_request(path, make_token(sub="ann")))
    assert refused.value.status_code == 403
    assert isinstance(refused.value.error, UserMismatch)  # type: ignore[attr-defined]


def test_bound_bearer_refuses_a_request_without_a_resolved_path(make_token: Any) -> None:
    request = RequestFactory().get("/api/ann/tasks", headers=bearer(make_token(sub="ann")))
    with pytest.raises(HttpError, match="another user") as refused:
        BetterAuthBearer(bind_path_user="user_id")(request)
    assert isinstance(refused.value.error, UserMismatch)  # type: ignore[attr-defined]


def test_bound_bearer_checks_the_token_before_the_path(make_token: Any) -> None:
    request = bound_request("/api/bob/tasks", tamper(make_token(sub="ann")))
    with pytest.raises(AuthenticationError) as refused:  # Ninja's own 401
        BetterAuthBearer(bind_path_user="user_id")(request)
    assert isinstance(refused.value.error, InvalidToken)  # type: ignore[attr-defined]


def test_unbound_bearer_ignores_the_path(make_token: Any) -> None:
    identity = BetterAuthBearer()(bound_request("/api/bob/tasks", make_token(sub="ann")))
    assert identity is not None
    assert identity.user_id == "ann"


def test_another_users_path_answers_403_json(client: Client, make_token: Any) -> None:
    response = client.get("/api/bob/tasks", headers=bearer(make_token(sub="ann")))
    assert response.status_code == 403
    assert response.json() == {"detail": "The path names another user."}
    assert "WWW-Authenticate" not in response


def test_no_token_on_a_user_path_is_401_not_403(client: Client) -> None:
    response = client.get("/api/bob/tasks")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
