"""401 or 503 for a token whose kid the keys lack: 401 when it can never be valid, 503 while a
JWKS fetched later could still show its key (CONTRACT §2 rule 8). Fake fetch, fake clocks."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from django.test import Client
from prometheus_client import REGISTRY

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.jwks import FetchedJwks
from authbridge.verify import Verifier
from tests.authbridge.conftest import (
    FakeClock,
    FakeFetch,
    JwksServer,
    bearer,
    fake_jwks_source,
    make_verifier,
)
from tests.conftest import TestKeys

MARGIN = 300  # the tests' max_staleness, BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS' default


@pytest.fixture
def wall() -> FakeClock:
    """Wall-clock time, starting now: iat values are on it."""
    clock = FakeClock()
    clock.now = float(int(time.time()))
    return clock


@pytest.fixture
def source(fetch: FakeFetch, clock: FakeClock, wall: FakeClock) -> FetchedJwks:
    return fake_jwks_source(fetch, clock, wall_clock=wall, max_staleness=MARGIN)


def later(clock: FakeClock, wall: FakeClock, seconds: float) -> None:
    clock.advance(seconds)
    wall.advance(seconds)


def outcome(source: FetchedJwks, kid: str, issued_at: float | None) -> str:
    try:
        return str(source.key_for(kid=kid, alg="EdDSA", issued_at=issued_at).kid)
    except (InvalidToken, KeysUnavailable) as refusal:
        return f"{refusal.status}:{refusal.reason}"


# --- certain without a fetch ---------------------------------------------------------------------


@pytest.mark.parametrize("issued_at", [None, -MARGIN - 1], ids=["no-iat", "before-the-margin"])
def test_a_token_older_than_the_margin_before_the_fetch_is_401_without_another_fetch(
    source: FetchedJwks, fetch: FakeFetch, wall: FakeClock, issued_at: float | None
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    iat = None if issued_at is None else wall.now + issued_at
    assert outcome(source, "forged", iat) == "401:unknown_kid"
    assert len(fetch.calls) == 1  # the JWKS held every key that existed then: nothing to ask


def test_a_forged_kid_in_an_old_token_is_401_after_one_fetch(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, wall: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    iat = wall.now + 10  # issued after the keys were fetched: they cannot tell
    later(clock, wall, MARGIN + 20)  # the TTL ran out too
    assert outcome(source, "forged", iat) == "401:unknown_kid"
    assert len(fetch.calls) == 2  # one fetch, made more than the margin after iat, settles it


def test_a_recent_token_with_an_unknown_kid_is_503_until_the_margin_has_passed(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, wall: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    iat = wall.now
    seen = []
    for _ in range(12):  # every 30 s (the cooldown) for 6 minutes
        seen.append(outcome(source, "forged", iat))
        later(clock, wall, 30)
    assert seen[:11] == ["503:kid_not_published"] * 11  # each one a fetch that could not tell
    assert seen[11] == "401:unknown_kid"  # fetched more than the margin after iat
    assert len(fetch.calls) == 13


def test_a_margin_of_zero_makes_every_fetch_proof(
    fetch: FakeFetch, clock: FakeClock, wall: FakeClock
) -> None:
    source = fake_jwks_source(fetch, clock, wall_clock=wall, max_staleness=0)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    wall.advance(1)
    iat = wall.now  # issued after the keys were fetched: they cannot tell
    wall.advance(1)
    assert outcome(source, "forged", iat) == "401:unknown_kid"  # the fetch it made can
    assert len(fetch.calls) == 2


# --- a stale JWKS after a real rotation ----------------------------------------------------------


@pytest.mark.parametrize(("margin", "ever_401"), [(MARGIN, False), (60, True)])
def test_a_rotation_behind_a_stale_jwks_is_503_until_it_arrives(
    fetch: FakeFetch,
    keys: TestKeys,
    clock: FakeClock,
    wall: FakeClock,
    margin: float,
    ever_401: bool,
) -> None:
    """Better Auth rotates at T; a CDN serves the old JWKS for 200 s more (under the margin)."""
    source = fake_jwks_source(fetch, clock, wall_clock=wall, max_staleness=margin)
    old = keys.jwks(("EdDSA",))
    new = {"keys": [*old["keys"], keys.public_jwk("EdDSA", kid="rotated")]}
    source.key_for(kid="test-eddsa", alg="EdDSA")
    rotated_at = wall.now + 5
    later(clock, wall, 5)
    seen = []
    while wall.now < rotated_at + 260:
        fetch.document = old if wall.now < rotated_at + 200 else new
        seen.append(outcome(source, "rotated", rotated_at))  # a token issued at the rotation
        seen.append(outcome(source, "rotated", wall.now))  # and one issued just now
        later(clock, wall, 10)
    assert seen[-2:] == ["rotated", "rotated"]
    assert ("401:unknown_kid" in seen) is ever_401  # a margin shorter than the CDN's age
    assert set(seen) - {"rotated", "401:unknown_kid"} <= {
        "503:kid_not_published",
        "503:kid_cooldown",
    }


# --- revoked keys --------------------------------------------------------------------------------


def test_a_key_dropped_by_a_later_jwks_is_401_revoked_without_a_fetch(
    source: FetchedJwks, fetch: FakeFetch, keys: TestKeys, clock: FakeClock, wall: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.document = keys.jwks(("ES256",))  # test-eddsa withdrawn
    later(clock, wall, MARGIN + 1)  # the TTL refresh, more than the margin after test-eddsa showed
    assert outcome(source, "test-eddsa", wall.now - 5) == "401:revoked_kid"
    assert outcome(source, "test-eddsa", wall.now) == "401:revoked_kid"  # even issued just now
    assert outcome(source, "never-seen", wall.now - MARGIN - 1) == "401:unknown_kid"
    assert len(fetch.calls) == 2  # the TTL refresh only


def test_a_key_missing_from_a_lagging_replica_is_503_and_comes_back(
    source: FetchedJwks, fetch: FakeFetch, keys: TestKeys, clock: FakeClock, wall: FakeClock
) -> None:
    """A JWKS that drops a key it showed moments ago may be an older copy: not proof."""
    fresh = keys.jwks(("EdDSA", "ES256"))
    fetch.document = fresh
    source.key_for(kid="test-es256", alg="ES256")
    fetch.document = keys.jwks(("ES256",))  # a replica that has not seen test-eddsa yet
    later(clock, wall, 40)
    assert outcome(source, "forged", wall.now) == "503:kid_not_published"  # fetched the replica
    assert outcome(source, "test-eddsa", wall.now - 30) == "503:kid_cooldown"  # not a 401
    fetch.document = fresh
    later(clock, wall, 30)
    assert outcome(source, "test-eddsa", wall.now - 60) == "test-eddsa"
    # It kept its first sighting: dropped again much later, that is proof.
    fetch.document = keys.jwks(("ES256",))
    later(clock, wall, MARGIN)
    assert outcome(source, "test-eddsa", wall.now) == "401:revoked_kid"


# --- through the Verifier: what cannot pass is 401 before any key lookup -------------------------


class CountingKeys:
    """A key source that only counts lookups."""

    def __init__(self) -> None:
        self.lookups = 0

    def key_for(self, *, kid: str | None, alg: str, issued_at: float | None = None) -> Any:
        self.lookups += 1
        raise AssertionError("no key lookup was expected")


NOW = int(time.time())
NEVER_VALID = [
    pytest.param({"iss": "https://evil.example"}, "bad_issuer", id="issuer"),
    pytest.param({"aud": "better-auth:session-cache"}, "bad_audience", id="audience"),
    pytest.param({"iat": NOW - 3600, "exp": NOW - 60}, "expired", id="expired-beyond-leeway"),
    pytest.param({"exp": NOW + 2 * 86_400}, "too_long_lived", id="lifetime-over-ceiling"),
    pytest.param({"sub": None}, "missing_claim", id="no-sub"),
    pytest.param({"sub": ""}, "bad_sub", id="empty-sub"),
    pytest.param({"exp": None}, "missing_claim", id="no-exp"),
    pytest.param({"nbf": NOW + 3600}, "immature", id="not-before-in-an-hour"),
]


@pytest.mark.parametrize(("claims", "reason"), NEVER_VALID)
def test_claims_that_can_never_pass_are_401_without_a_key_lookup(
    make_token: Any, claims: dict[str, Any], reason: str
) -> None:
    keys = CountingKeys()
    verifier = make_verifier(jwks=keys)
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(make_token("EdDSA", kid="forged", **claims))
    assert refused.value.reason == reason
    assert keys.lookups == 0


MALFORMED_KIDS = [
    pytest.param("", "malformed_kid", id="empty"),
    pytest.param("a\x00b", "malformed_kid", id="nul"),
    pytest.param("a\r\nb", "malformed_kid", id="crlf"),
    pytest.param("k" * 257, "malformed_kid", id="257-characters"),
    pytest.param("k" * 4000, "malformed_kid", id="4000-characters"),
    pytest.param("clé", "malformed_kid", id="not-ascii"),
    pytest.param(7, "malformed", id="a-number"),  # PyJWT's header reader refuses it first
    pytest.param(["k"], "malformed", id="a-list"),
]


def with_header(token: str, **members: Any) -> str:
    """The token with header members replaced (PyJWT would not sign such a header)."""
    header = {**jwt.get_unverified_header(token), **members}
    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{segment}.{token.split('.', 1)[1]}"


@pytest.mark.parametrize(("kid", "reason"), MALFORMED_KIDS)
def test_a_kid_that_cannot_name_a_key_is_401_without_a_key_lookup(
    make_token: Any, kid: Any, reason: str
) -> None:
    keys = CountingKeys()
    with pytest.raises(InvalidToken) as refused:
        make_verifier(jwks=keys).verify(with_header(make_token("EdDSA"), kid=kid))
    assert refused.value.reason == reason
    assert keys.lookups == 0


@pytest.mark.parametrize("kid", ["k" * 256, "a b~!", "pVLIvgAq53FuLEoSd3DEBcOTtEO8XlRq"])
def test_a_kid_of_printable_ascii_up_to_256_is_looked_up(make_token: Any, kid: str) -> None:
    keys = CountingKeys()
    with pytest.raises(AssertionError):
        make_verifier(jwks=keys).verify(make_token("EdDSA", kid=kid))
    assert keys.lookups == 1


# --- over HTTP: the status, Retry-After and the refusal metric's reason --------------------------


def refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("auth_refusals_total", {"reason": reason}) or 0.0


@pytest.mark.parametrize(
    ("age", "headers", "status", "reason", "fetches"),
    [
        pytest.param(0, {}, 503, "kid_not_published", 1, id="recent-unknown-kid"),
        pytest.param(MARGIN + 60, {}, 401, "unknown_kid", 1, id="old-unknown-kid"),
        # Refused from the header alone: no key is looked up, so nothing is fetched.
        pytest.param(0, {"jku": "http://127.0.0.1:1/"}, 401, "embedded_key", 0, id="jku"),
        pytest.param(0, {"kid": "a\nb"}, 401, "malformed_kid", 0, id="malformed-kid"),
    ],
)
def test_each_case_has_its_status_and_reason(
    client: Client,
    make_token: Any,
    use_jwks_server: JwksServer,
    age: int,
    headers: dict[str, str],
    status: int,
    reason: str,
    fetches: int,
) -> None:
    iat = NOW - age
    token = make_token("EdDSA", kid="forged", headers=headers, iat=iat, exp=iat + 900)
    before = refusals(reason)
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == status
    assert ("Retry-After" in response) is (status == 503)
    assert refusals(reason) == before + 1
    assert use_jwks_server.requests == fetches


def test_a_revoked_key_is_401_over_http(
    client: Client, make_token: Any, keys: TestKeys, settings: Any, use_jwks_server: JwksServer
) -> None:
    settings.BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS = 0  # every fetch is current
    settings.BETTER_AUTH_JWKS_CACHE_SECONDS = 0  # every request refreshes
    token = make_token("EdDSA")
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    use_jwks_server.document = keys.jwks(("ES256",))
    time.sleep(0.01)  # a later fetch, on the wall clock
    before = refusals("revoked_kid")
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert refusals("revoked_kid") == before + 1


def test_the_verifier_passes_iat_to_the_key_source(make_token: Any) -> None:
    asked: list[float | None] = []

    class Keys:
        def key_for(self, *, kid: str | None, alg: str, issued_at: float | None = None) -> Any:
            asked.append(issued_at)
            raise InvalidToken("no", reason="unknown_kid")

    verifier: Verifier = make_verifier(jwks=Keys())
    for claims in ({"iat": NOW - 7}, {"iat": None}):
        with pytest.raises(InvalidToken):
            verifier.verify(make_token("EdDSA", kid="forged", **claims))
    assert asked == [NOW - 7, None]
