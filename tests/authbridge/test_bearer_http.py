"""Through HTTP: /api/me for every algorithm, RFC 6750 challenges, 403 binding, 503, no queries."""

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve

from authbridge.auth import BetterAuthBearer
from authbridge.errors import UserMismatch
from tests.authbridge.conftest import JwksServer
from tests.conftest import ASYMMETRIC_ALGS, HMAC_ALGS

pytestmark = pytest.mark.django_db

BARE_CHALLENGE = 'Bearer realm="todo-api"'
BAD_SIGNATURE = "The token signature does not verify."


def tamper(token: str) -> str:
    """Change one signature character in the middle (the last one may only carry padding bits)."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS + HMAC_ALGS)
def test_each_algorithm_round_trips_through_api_me(
    client: Client, make_token: Any, alg: str
) -> None:
    response = client.get("/api/me", **bearer(make_token(alg, sub="ann", name="Ann")))
    assert response.status_code == 200
    assert response.json() == {"id": "ann", "email": "ann@example.com", "name": "Ann"}


def test_verification_runs_no_database_query(
    client: Client, make_token: Any, django_assert_num_queries: Any
) -> None:
    token = make_token("EdDSA")
    with django_assert_num_queries(0):
        assert client.get("/api/me", **bearer(token)).status_code == 200
    with django_assert_num_queries(0):
        assert client.get("/api/me", **bearer(tamper(token))).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
        pytest.param({"HTTP_AUTHORIZATION": "Token abc"}, id="other-scheme"),
    ],
)
def test_without_a_bearer_token_the_challenge_is_bare(
    client: Client, headers: dict[str, str]
) -> None:
    response = client.get("/api/me", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(
    ("token_of", "description"),
    [
        pytest.param(lambda make: tamper(make("EdDSA")), BAD_SIGNATURE, id="bad-sig"),
        pytest.param(lambda make: make("HS256", exp=1), "The token has expired.", id="expired"),
        pytest.param(lambda make: "", "The bearer token is empty.", id="empty"),
    ],
)  # fmt: skip
def test_a_refused_token_gets_an_rfc6750_challenge(
    client: Client, make_token: Any, token_of: Any, description: str
) -> None:
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token_of(make_token)}")
    assert response.status_code == 401
    assert response.json() == {"detail": description}
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="todo-api", error="invalid_token", error_description="{description}"'
    )


def test_scheme_is_case_insensitive(client: Client, make_token: Any) -> None:
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"bearer {make_token()}")
    assert response.status_code == 200


def test_refusals_are_logged_with_reason_and_never_the_token(
    client: Client, make_token: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = make_token("EdDSA", exp=1)
    with caplog.at_level(logging.INFO, logger="authbridge"):
        client.get("/api/me", **bearer(token))
    messages = [record.getMessage() for record in caplog.records]
    assert any("reason=expired" in m and "alg=EdDSA" in m for m in messages)
    assert all(token not in m and token.split(".")[1] not in m for m in messages)


# --- the path binding (403) ------------------------------------------------------------------


def bound_request(path: str, token: str) -> Any:
    request = RequestFactory().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    request.resolver_match = resolve(path)
    return request


def test_bound_bearer_accepts_the_tokens_own_user(make_token: Any) -> None:
    identity = BetterAuthBearer(bind_path_user=True)(
        bound_request("/api/ann/tasks", make_token(sub="ann"))
    )
    assert identity is not None
    assert identity.user_id == "ann"


def test_bound_bearer_refuses_another_users_path(make_token: Any) -> None:
    with pytest.raises(UserMismatch):
        BetterAuthBearer(bind_path_user=True)(
            bound_request("/api/bob/tasks", make_token(sub="ann"))
        )


def test_another_users_path_answers_403_json(client: Client, make_token: Any) -> None:
    response = client.get("/api/bob/tasks", **bearer(make_token(sub="ann")))
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_no_token_on_a_user_path_is_401_not_403(client: Client) -> None:
    response = client.get("/api/bob/tasks")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


# --- keys fetched over real HTTP -------------------------------------------------------------


def test_jwks_is_fetched_over_http_once_then_cached(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    for _ in range(3):
        assert client.get("/api/me", **bearer(make_token("ES256"))).status_code == 200
    assert use_jwks_server.requests == 1


def test_base_url_gives_the_default_jwks_path_issuer_and_audience(
    client: Client, make_token: Any, settings: Any, jwks_server: JwksServer
) -> None:
    base = jwks_server.url.removesuffix("/jwks")
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_URL = base + "/"
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    response = client.get("/api/me", **bearer(make_token("EdDSA", iss=base, aud=base)))
    assert response.status_code == 200
    assert jwks_server.paths == ["/api/auth/jwks"]
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 401  # other iss


def test_rotated_key_is_fetched_at_once(
    client: Client, make_token: Any, keys: Any, use_jwks_server: JwksServer
) -> None:
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.document = {"keys": [keys.public_jwk("EdDSA", kid="rotated")]}
    assert client.get("/api/me", **bearer(make_token("EdDSA", kid="rotated"))).status_code == 200
    assert use_jwks_server.requests == 2
    for n in range(20):  # forged kids now: no further fetch within the cooldown
        assert client.get("/api/me", **bearer(make_token("EdDSA", kid=f"f{n}"))).status_code == 401
    assert use_jwks_server.requests == 2


@pytest.mark.parametrize("mode", ["fail", "hang", "huge"])
def test_unusable_jwks_on_a_cold_start_is_503_with_retry_after(
    client: Client, make_token: Any, use_jwks_server: JwksServer, settings: Any, mode: str
) -> None:
    use_jwks_server.mode = mode
    use_jwks_server.hang_seconds = 1.0
    settings.JWKS_TIMEOUT_SECONDS = 0.3
    response = client.get("/api/me", **bearer(make_token("EdDSA")))
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    assert set(response.json()) == {"detail"}
    hs256 = client.get("/api/me", **bearer(make_token("HS256")))
    assert hs256.status_code == 200  # shared-secret tokens do not need the JWKS


def test_warm_cache_survives_a_jwks_outage(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.mode = "fail"
    response = client.get("/api/me", **bearer(make_token("EdDSA", kid="rotated-meanwhile")))
    assert response.status_code == 401  # unknown kid, keys unreachable: still a token problem
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
