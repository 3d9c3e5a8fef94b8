"""The JWKS over real HTTP (loopback server): caching, re-fetch limits, outages (CONTRACT §2.7-8).

Cache-policy tests use ``fetched_verifier`` (real HTTP, fake clock); the others configure the
app through settings and call /api/me, so the whole path from a request to the server runs.
"""

import threading
import time
from typing import Any

import pytest
from django.test import Client

from authbridge.config import MAX_JWKS_BYTES, get_verifier
from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.keys import FetchedJwks, fetch_json
from authbridge.verify import Identity, Verifier
from tests.authbridge.conftest import FakeClock, JwksServer
from tests.conftest import TestKeys

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def refusal(verifier: Verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(token)
    return refused.value.reason


# --- configured through settings -------------------------------------------------------------


def test_jwks_is_fetched_over_http_once_then_cached(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    for alg in ("EdDSA", "ES256", "RS256", "PS512", "EdDSA"):
        assert client.get("/api/me", **bearer(make_token(alg))).status_code == 200
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


def test_unknown_kid_refetches_exactly_once_then_is_cached(
    client: Client, make_token: Any, keys: TestKeys, use_jwks_server: JwksServer
) -> None:
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
    assert use_jwks_server.requests == 1
    use_jwks_server.document = {"keys": [keys.public_jwk("EdDSA", kid="rotated")]}
    for _ in range(3):
        response = client.get("/api/me", **bearer(make_token("EdDSA", kid="rotated")))
        assert response.status_code == 200
    assert use_jwks_server.requests == 2
    for n in range(20):  # forged kids within the cooldown: no further fetch
        assert client.get("/api/me", **bearer(make_token("EdDSA", kid=f"f{n}"))).status_code == 401
    assert use_jwks_server.requests == 2


def test_unknown_kid_on_a_cold_start_costs_one_fetch(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    response = client.get("/api/me", **bearer(make_token("EdDSA", kid="forged")))
    assert response.status_code == 401
    assert use_jwks_server.requests == 1


def test_a_zero_ttl_refetches_for_every_token(
    client: Client, make_token: Any, settings: Any, use_jwks_server: JwksServer
) -> None:
    settings.JWKS_CACHE_SECONDS = 0
    for expected in (1, 2, 3):
        assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
        assert use_jwks_server.requests == expected


OUTAGES = [
    pytest.param("fail", 0.0, id="http-500"),
    pytest.param("close", 0.0, id="connection-closed"),
    pytest.param("ok", 1.0, id="hangs-past-the-timeout"),
    pytest.param("huge", 0.0, id="oversized-body"),
]


@pytest.mark.parametrize(("mode", "delay"), OUTAGES)
def test_unusable_jwks_on_a_cold_start_is_503_with_retry_after(
    client: Client,
    make_token: Any,
    settings: Any,
    use_jwks_server: JwksServer,
    mode: str,
    delay: float,
) -> None:
    use_jwks_server.mode, use_jwks_server.delay_seconds = mode, delay
    settings.JWKS_TIMEOUT_SECONDS = 0.3
    started = time.monotonic()
    response = client.get("/api/me", **bearer(make_token("EdDSA")))
    assert time.monotonic() - started < 0.9  # the timeout, not the server, ended the wait
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The token signing keys cannot be fetched right now; try again shortly."
    }
    assert response["Retry-After"] == "5"
    assert "WWW-Authenticate" not in response
    assert use_jwks_server.requests == 1
    assert client.get("/api/me", **bearer(make_token("HS256"))).status_code == 200  # no JWKS


@pytest.mark.parametrize(("mode", "delay"), OUTAGES)
def test_warm_cache_survives_an_outage(
    client: Client,
    make_token: Any,
    settings: Any,
    use_jwks_server: JwksServer,
    mode: str,
    delay: float,
) -> None:
    settings.JWKS_TIMEOUT_SECONDS = 0.3
    settings.JWKS_CACHE_SECONDS = 0  # every request tries to refresh, so every one meets the outage
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.mode, use_jwks_server.delay_seconds = mode, delay
    assert client.get("/api/me", **bearer(make_token("EdDSA"))).status_code == 200
    assert use_jwks_server.requests == 2
    response = client.get("/api/me", **bearer(make_token("EdDSA", kid="rotated-meanwhile")))
    assert response.status_code == 401  # unknown kid with stale keys: a token problem, not 503


def test_oversized_jwks_is_refused_by_size_alone(jwks_server: JwksServer) -> None:
    jwks_server.mode = "huge"
    with pytest.raises(ValueError, match=f"larger than {MAX_JWKS_BYTES} bytes"):
        fetch_json(jwks_server.url, timeout=2, max_bytes=MAX_JWKS_BYTES)
    document = fetch_json(jwks_server.url, timeout=2, max_bytes=2 * MAX_JWKS_BYTES)
    assert document["keys"] == jwks_server.document["keys"]  # control: otherwise a good JWKS


def test_threads_on_a_cold_cache_cause_one_fetch(
    make_token: Any, use_jwks_server: JwksServer
) -> None:
    use_jwks_server.delay_seconds = 0.3  # slow enough for every thread to arrive meanwhile
    token = make_token("ES384")
    verifier = get_verifier()  # built up front: only the key cache is under test here
    results: list[Identity | Exception] = []
    barrier = threading.Barrier(8)

    def verify() -> None:
        barrier.wait(5)
        try:
            results.append(verifier.verify(token))
        except Exception as exc:  # collected for the assertion below
            results.append(exc)

    threads = [threading.Thread(target=verify) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert [getattr(r, "user_id", r) for r in results] == ["user-1"] * 8
    assert use_jwks_server.requests == 1


# --- the cache policy over real HTTP with a fake clock ----------------------------------------


def test_ttl_expiry_refreshes(
    fetched_verifier: Verifier, make_token: Any, jwks_server: JwksServer, clock: FakeClock
) -> None:
    token = make_token("EdDSA")
    fetched_verifier.verify(token)
    clock.advance(299)
    fetched_verifier.verify(token)
    assert jwks_server.requests == 1
    clock.advance(1)
    fetched_verifier.verify(token)
    assert jwks_server.requests == 2


def test_burst_of_50_random_kids_fetches_once_per_cooldown(
    fetched_verifier: Verifier, make_token: Any, jwks_server: JwksServer, clock: FakeClock
) -> None:
    fetched_verifier.verify(make_token("EdDSA"))
    forged = [make_token("EdDSA", kid=f"forged-{n}") for n in range(50)]
    for token in forged:
        assert refusal(fetched_verifier, token) == "unknown_kid"
    assert jwks_server.requests == 2  # warm-up plus one re-fetch
    clock.advance(30)
    for token in forged:
        assert refusal(fetched_verifier, token) == "unknown_kid"
    assert jwks_server.requests == 3
    assert fetched_verifier.verify(make_token("EdDSA")).user_id == "user-1"


@pytest.mark.parametrize(("mode", "delay"), [("fail", 0.0), ("close", 0.0)])
def test_stale_keys_verify_after_ttl_expiry_while_the_jwks_is_down(
    fetched_verifier: Verifier,
    make_token: Any,
    jwks_server: JwksServer,
    clock: FakeClock,
    mode: str,
    delay: float,
) -> None:
    token = make_token("RS256")
    fetched_verifier.verify(token)
    jwks_server.mode = mode
    for _ in range(3):
        clock.advance(301)
        assert fetched_verifier.verify(token).user_id == "user-1"
    assert jwks_server.requests == 4  # one failed attempt per expiry, none per token
    jwks_server.mode = "ok"
    clock.advance(301)
    fetched_verifier.verify(token)
    assert jwks_server.requests == 5


def test_cold_start_outage_is_keys_unavailable_until_the_backoff_ends(
    make_token: Any, jwks_server: JwksServer, clock: FakeClock
) -> None:
    source = FetchedJwks(
        jwks_server.url, clock=clock, ttl=300, cooldown=30, timeout=0.3, max_bytes=MAX_JWKS_BYTES
    )
    jwks_server.mode = "fail"
    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            source.key_for(kid="test-eddsa", alg="EdDSA")
    assert jwks_server.requests == 1  # a failing JWKS is not hammered by every request
    jwks_server.mode = "ok"
    clock.advance(5)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert jwks_server.requests == 2
