"""The JWKS over real HTTP (loopback server): caching, re-fetch limits, outages (CONTRACT §2.7-8).

Cache-policy tests use ``fetched_verifier`` (real HTTP, fake clock); the others configure the
app through settings and call /api/me, so the whole path from a request to the server runs.
"""

import json
import threading
import time
import urllib.request
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core import signing
from django.core.cache import caches
from django.test import Client
from jwt.algorithms import OKPAlgorithm

from authbridge.config import MAX_JWKS_BYTES, get_verifier
from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.fetch import FetchError, fetch_json
from authbridge.identity import Identity
from authbridge.jwks import FetchedJwks
from authbridge.jwksstore import CachedJwksStore
from authbridge.verify import Verifier
from tests.authbridge.conftest import FakeClock, JwksServer, bearer
from tests.conftest import TEST_ISSUER, TestKeys

pytestmark = pytest.mark.django_db


def refusal(verifier: Verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(token)
    return refused.value.reason


# --- configured through settings -------------------------------------------------------------


def test_jwks_is_fetched_over_http_once_then_cached(
    client: Client, make_token: Any, use_jwks_server: JwksServer
) -> None:
    for alg in ("EdDSA", "ES256", "RS256", "PS512", "EdDSA"):
        assert client.get("/api/me", headers=bearer(make_token(alg))).status_code == 200
    assert use_jwks_server.requests == 1


def test_base_url_gives_the_default_jwks_path_issuer_and_audience(
    client: Client, make_token: Any, settings: Any, jwks_server: JwksServer
) -> None:
    base = jwks_server.url.removesuffix("/jwks")
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_URL = base + "/"
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    response = client.get("/api/me", headers=bearer(make_token("EdDSA", iss=base, aud=base)))
    assert response.status_code == 200
    assert jwks_server.paths == ["/api/auth/jwks"]
    assert (
        client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 401
    )  # other iss


def test_unknown_kid_refetches_exactly_once_then_is_cached(
    client: Client, make_token: Any, keys: TestKeys, use_jwks_server: JwksServer
) -> None:
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    assert use_jwks_server.requests == 1
    use_jwks_server.document = {"keys": [keys.public_jwk("EdDSA", kid="rotated")]}
    for _ in range(3):
        response = client.get("/api/me", headers=bearer(make_token("EdDSA", kid="rotated")))
        assert response.status_code == 200
    assert use_jwks_server.requests == 2
    for n in range(20):  # forged kids within the cooldown: no further fetch, and no verdict
        response = client.get("/api/me", headers=bearer(make_token("EdDSA", kid=f"f{n}")))
        assert response.status_code == 503
        assert 1 <= int(response["Retry-After"]) <= 30
    assert use_jwks_server.requests == 2


def test_a_key_rotated_right_after_a_forged_kid_is_503_then_200_never_401(
    client: Client, make_token: Any, keys: TestKeys, settings: Any, use_jwks_server: JwksServer
) -> None:
    """A forged kid spends the cooldown; the real new key must not sign its user out."""
    settings.BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS = 0.5
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    forged = client.get("/api/me", headers=bearer(make_token("EdDSA", kid="forged")))
    assert forged.status_code == 503  # fetched, not there, but issued just now: cannot tell yet
    use_jwks_server.document = {"keys": [keys.public_jwk("EdDSA", kid="rotated")]}
    token = make_token("EdDSA", kid="rotated")
    statuses = []
    for _ in range(50):  # each answer says when to come back; no clock is asserted
        response = client.get("/api/me", headers=bearer(token))
        statuses.append(response.status_code)
        if response.status_code != 503:
            break
        assert response["Retry-After"] == "1"
        time.sleep(0.1)
    assert statuses[0] == 503
    assert statuses[-1] == 200
    assert set(statuses) == {503, 200}
    assert use_jwks_server.requests == 3


@pytest.mark.parametrize(
    ("age", "status"), [(0, 503), (301 + 10, 401)], ids=["issued-just-now", "issued-before"]
)
def test_unknown_kid_on_a_cold_start_costs_one_fetch(
    client: Client, make_token: Any, use_jwks_server: JwksServer, age: int, status: int
) -> None:
    """401 only for a token issued longer than the staleness margin (300 s) before it."""
    iat = int(time.time()) - age
    token = make_token("EdDSA", kid="forged", iat=iat, exp=iat + 900)
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == status
    assert use_jwks_server.requests == 1


def test_a_zero_ttl_refetches_for_every_token(
    client: Client, make_token: Any, settings: Any, use_jwks_server: JwksServer
) -> None:
    settings.BETTER_AUTH_JWKS_CACHE_SECONDS = 0
    for expected in (1, 2, 3):
        assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
        assert use_jwks_server.requests == expected


OUTAGES = [
    pytest.param("fail", id="http-500"),
    pytest.param("close", id="connection-closed"),
    pytest.param("hang", id="hangs-past-the-timeout"),
    pytest.param("huge", id="oversized-body"),
    pytest.param("redirect", id="redirect"),
    pytest.param("text", id="not-json-content-type"),
    pytest.param("drip", id="drips-past-the-deadline"),
    pytest.param("deep", id="nested-too-deeply"),
]


@pytest.mark.parametrize("mode", OUTAGES)
def test_unusable_jwks_on_a_cold_start_is_503_with_retry_after(
    client: Client,
    make_token: Any,
    settings: Any,
    jwks_server_factory: Any,
    use_jwks_server: JwksServer,
    mode: str,
) -> None:
    use_jwks_server.mode = mode
    use_jwks_server.redirect_to = jwks_server_factory().url  # a server with the right keys
    settings.BETTER_AUTH_JWKS_TIMEOUT_SECONDS = 0.3
    response = client.get("/api/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The token signing keys cannot be fetched right now; try again shortly."
    }
    assert response["Retry-After"] == "5"
    assert "WWW-Authenticate" not in response
    again = client.get("/api/me", headers=bearer(make_token("EdDSA", kid="another")))
    assert again.status_code == 503  # within the backoff: not judged, not fetched again
    assert use_jwks_server.requests == 1
    if mode in ("hang", "drip"):
        assert not use_jwks_server.completed.is_set()  # the deadline, not the server, ended it
    assert client.get("/api/me", headers=bearer(make_token("HS256"))).status_code == 200


@pytest.mark.parametrize("mode", OUTAGES)
def test_warm_cache_survives_an_outage(
    client: Client, make_token: Any, settings: Any, use_jwks_server: JwksServer, mode: str
) -> None:
    settings.BETTER_AUTH_JWKS_TIMEOUT_SECONDS = 0.3
    settings.BETTER_AUTH_JWKS_CACHE_SECONDS = (
        0  # every request tries to refresh, so every one meets the outage
    )
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.mode = mode
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    assert use_jwks_server.requests == 2
    response = client.get("/api/me", headers=bearer(make_token("EdDSA", kid="rotated-meanwhile")))
    assert response.status_code == 503  # no fetch said this kid is absent: not a sign-out
    assert int(response["Retry-After"]) >= 1


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
    for round_ in range(2):
        with pytest.raises(KeysUnavailable) as fetched:  # fetched: not there, yet
            fetched_verifier.verify(forged[0])
        assert fetched.value.reason == "kid_not_published"
        for token in forged[1:]:  # cannot be looked up before the cooldown ends
            with pytest.raises(KeysUnavailable) as unavailable:
                fetched_verifier.verify(token)
            assert unavailable.value.reason == "kid_cooldown"
        assert jwks_server.requests == 2 + round_  # warm-up plus one re-fetch per cooldown
        clock.advance(30)
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


# --- fetch_json: what a fetch refuses (CONTRACT §2.7) -------------------------------------


def test_a_redirect_is_a_failed_fetch_never_followed(
    jwks_server: JwksServer, jwks_server_factory: Any
) -> None:
    elsewhere = jwks_server_factory()
    jwks_server.mode, jwks_server.redirect_to = "redirect", elsewhere.url
    with pytest.raises(FetchError, match="302"):
        fetch_json(jwks_server.url, timeout=2, max_bytes=MAX_JWKS_BYTES)
    assert elsewhere.requests == 0


def test_a_redirect_to_an_attackers_keys_signs_nobody_in(
    client: Client, keys: TestKeys, jwks_server_factory: Any, use_jwks_server: JwksServer
) -> None:
    attacker_key = ed25519.Ed25519PrivateKey.generate()
    jwk = json.loads(OKPAlgorithm.to_jwk(attacker_key.public_key()))
    attacker = jwks_server_factory({"keys": [{**jwk, "kid": "evil", "alg": "EdDSA"}]})
    use_jwks_server.mode, use_jwks_server.redirect_to = "redirect", attacker.url
    claims = {"sub": "victim", "iss": TEST_ISSUER, "aud": TEST_ISSUER, "exp": time.time() + 60}
    token = jwt.encode(claims, attacker_key, algorithm="EdDSA", headers={"kid": "evil"})
    assert client.get("/api/me", headers=bearer(token)).status_code == 503
    assert attacker.requests == 0


def test_only_a_json_content_type_is_taken(jwks_server: JwksServer) -> None:
    jwks_server.mode = "text"
    with pytest.raises(FetchError, match="text/plain"):
        fetch_json(jwks_server.url, timeout=2, max_bytes=MAX_JWKS_BYTES)


def test_the_timeout_is_a_deadline_for_the_whole_fetch(jwks_server: JwksServer) -> None:
    """Each piece comes well within the timeout, the whole body does not."""
    jwks_server.mode = "drip"  # DRIP_PIECES pieces, 0.1 s apart: 3 s in all
    with pytest.raises(FetchError, match=r"within 0\.5 s"):
        fetch_json(jwks_server.url, timeout=0.5, max_bytes=MAX_JWKS_BYTES)
    assert jwks_server.done.wait(30)
    assert not jwks_server.completed.is_set()  # the client hung up before the last piece


def test_environment_proxies_are_ignored(
    monkeypatch: pytest.MonkeyPatch, jwks_server: JwksServer, jwks_server_factory: Any
) -> None:
    proxy = jwks_server_factory()  # would serve the document for any URL it is asked for
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, proxy.url.removesuffix("/jwks"))
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # urllib reads the variables when it builds its shared opener: make it build a new one
    # (as a fresh process would), and put the old one back afterwards.
    monkeypatch.setattr(urllib.request, "_opener", None)
    document = fetch_json(jwks_server.url, timeout=2, max_bytes=MAX_JWKS_BYTES)
    assert document["keys"] == jwks_server.document["keys"]
    assert (proxy.requests, jwks_server.requests) == (0, 1)


def test_an_explicit_proxy_is_used(
    client: Client, make_token: Any, settings: Any, jwks_server: JwksServer
) -> None:
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_JWKS_URL = "http://keys.internal.test/jwks"  # resolvable by the proxy only
    settings.BETTER_AUTH_JWKS_PROXY_URL = jwks_server.url.removesuffix("/jwks")
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    assert jwks_server.paths == ["http://keys.internal.test/jwks"]


def test_a_too_deeply_nested_document_is_a_failed_fetch(jwks_server: JwksServer) -> None:
    jwks_server.mode = "deep"
    with pytest.raises(RecursionError):
        fetch_json(jwks_server.url, timeout=2, max_bytes=MAX_JWKS_BYTES)
    source = FetchedJwks(jwks_server.url, ttl=300, cooldown=30, timeout=2, max_bytes=MAX_JWKS_BYTES)
    with pytest.raises(KeysUnavailable):
        source.key_for(kid="test-eddsa", alg="EdDSA")
    with pytest.raises(KeysUnavailable):
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert jwks_server.requests == 2  # the direct call, then one fetch: backing off


# --- the last good JWKS in Django's cache (CONTRACT §2.7) ----------------------------------


def test_a_recycled_worker_starts_from_the_cached_jwks(
    client: Client, make_token: Any, use_jwks_server: JwksServer, django_assert_num_queries: Any
) -> None:
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.mode = "fail"  # Better Auth goes down...
    get_verifier.cache_clear()  # ...and gunicorn replaces the worker: no keys in this process
    with django_assert_num_queries(0):
        assert get_verifier().verify(make_token("ES256")).user_id == "user-1"
    assert use_jwks_server.requests == 1  # the cached keys are fresh: nothing fetched


def test_the_cache_holds_public_keys_the_url_and_the_fetch_time_signed(
    make_token: Any, keys: TestKeys, settings: Any, jwks_server: JwksServer
) -> None:
    private = {**json.loads(OKPAlgorithm.to_jwk(keys.ed25519)), "kid": "test-eddsa"}
    jwks_server.document = {"keys": [private]}  # a careless JWKS that publishes "d"
    settings.BETTER_AUTH_JWKS, settings.BETTER_AUTH_JWKS_URL = "", jwks_server.url
    assert get_verifier().verify(make_token("EdDSA")).user_id == "user-1"
    store = CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, jwks_server.url)
    signed = caches[settings.BETTER_AUTH_JWKS_CACHE_ALIAS].get(store.key)
    entry = signing.Signer(salt=store.salt).unsign_object(signed)  # raises unless signed
    assert set(entry) == {"url", "fetched_at", "document"}
    assert entry["url"] == jwks_server.url
    public = {name: value for name, value in private.items() if name != "d"}
    assert entry["document"] == {"keys": [public]}


def test_one_process_at_a_time_may_claim_the_fetch(settings: Any) -> None:
    store = CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, "http://jwks.test/api/auth/jwks")
    other_process = CachedJwksStore(
        settings.BETTER_AUTH_JWKS_CACHE_ALIAS, "http://jwks.test/api/auth/jwks"
    )
    assert store.claim(3) is True
    assert other_process.claim(3) is False
    assert (
        CachedJwksStore(settings.BETTER_AUTH_JWKS_CACHE_ALIAS, "http://other.test/jwks").claim(3)
        is True
    )
    store.save({"keys": []})  # the claimed fetch landed: the next one may be claimed
    assert other_process.claim(3) is True


def test_a_cache_that_is_down_is_no_cache(
    client: Client, make_token: Any, settings: Any, use_jwks_server: JwksServer
) -> None:
    broken = {"BACKEND": "tests.authbridge.conftest.BrokenCache"}
    settings.CACHES = {**settings.CACHES, "broken": broken}
    settings.BETTER_AUTH_JWKS_CACHE_ALIAS = "broken"
    assert client.get("/api/me", headers=bearer(make_token("EdDSA"))).status_code == 200
    use_jwks_server.mode = "fail"
    get_verifier.cache_clear()
    response = client.get("/api/me", headers=bearer(make_token("EdDSA")))
    assert response.status_code == 503  # neither keys nor cache: a 503, never a 500
    assert response["Retry-After"] == "5"
