"""Key selection and the fetched JWKS cache policy (fake fetch, fake clock: no sleeping)."""

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.keys import FetchedJwks, JwksError, PinnedJwks, parse_jwks, pick_key
from tests.authbridge.conftest import FakeClock
from tests.conftest import ASYMMETRIC_ALGS, TestKeys


class FakeFetch:
    """Returns ``document`` (or raises ``error``) and records each call."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.error: Exception | None = None
        self.calls = 0

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.document


@pytest.fixture
def fetch(keys: TestKeys) -> FakeFetch:
    return FakeFetch(keys.jwks(("EdDSA", "ES256")))


@pytest.fixture
def source(fetch: FakeFetch, clock: FakeClock) -> FetchedJwks:
    return FetchedJwks(
        "http://jwks.test/jwks",
        fetch=fetch,
        clock=clock,
        ttl=300,
        cooldown=30,
        timeout=3,
        max_bytes=64_000,
    )


# --- parse_jwks / pick_key ---------------------------------------------------------------


def test_parse_jwks_keeps_usable_keys_and_skips_unknown_types(keys: TestKeys) -> None:
    document = keys.jwks(("EdDSA",))
    document["keys"].append({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac-in-jwks"})
    document["keys"].append({"kty": "EC", "crv": "P-256", "kid": "broken", "x": "AA", "y": "AA"})
    parsed = parse_jwks(document)
    assert [key.kid for key in parsed] == ["test-eddsa"]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({}, id="no-keys"),
        pytest.param({"keys": "x"}, id="keys-not-a-list"),
        pytest.param({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, id="only-symmetric"),
    ],
)
def test_parse_jwks_refuses_unusable_documents(document: Any) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_pick_key_finds_each_algorithms_key_by_kid(keys: TestKeys, alg: str) -> None:
    parsed = parse_jwks(keys.jwks())
    picked = pick_key(parsed, kid=keys.kid(alg), alg=alg)
    assert picked is not None
    assert picked.kid == keys.kid(alg)


# Key/alg mismatches are tabled end to end in test_attack_table.py.


def test_rsa_key_without_declared_alg_serves_both_rs_and_ps(keys: TestKeys) -> None:
    jwk = keys.public_jwk("RS256")
    del jwk["alg"]
    parsed = parse_jwks({"keys": [jwk]})
    for alg in ("RS256", "PS512"):
        assert pick_key(parsed, kid=jwk["kid"], alg=alg) is not None


def test_key_marked_for_encryption_is_not_used_for_signatures(keys: TestKeys) -> None:
    jwk = {**keys.public_jwk("ES256"), "use": "enc"}
    assert pick_key(parse_jwks({"keys": [jwk]}), kid=jwk["kid"], alg="ES256") is None


def test_without_kid_only_a_single_fitting_key_is_used(keys: TestKeys) -> None:
    one = parse_jwks(keys.jwks(("EdDSA", "ES256")))
    assert pick_key(one, kid=None, alg="EdDSA") is not None
    two = parse_jwks({"keys": [keys.public_jwk("EdDSA"), keys.public_jwk("EdDSA", kid="b")]})
    assert pick_key(two, kid=None, alg="EdDSA") is None


def test_pinned_jwks_refuses_unknown_kid(keys: TestKeys) -> None:
    pinned = PinnedJwks(parse_jwks(keys.jwks(("EdDSA",))))
    assert pinned.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    with pytest.raises(InvalidToken) as refused:
        pinned.key_for(kid="nope", alg="EdDSA")
    assert refused.value.reason == "unknown_kid"


# --- FetchedJwks cache policy ------------------------------------------------------------


def test_keys_are_fetched_once_and_cached_for_the_ttl(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    for _ in range(5):
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == 1
    clock.advance(299)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == 1
    clock.advance(2)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == 2


def test_unknown_kid_refetches_once_and_finds_a_rotated_key(
    source: FetchedJwks, fetch: FakeFetch, keys: TestKeys
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.document = {"keys": [*fetch.document["keys"], keys.public_jwk("EdDSA", kid="rotated")]}
    assert source.key_for(kid="rotated", alg="EdDSA").kid == "rotated"
    assert fetch.calls == 2
    source.key_for(kid="rotated", alg="EdDSA")
    assert fetch.calls == 2


def test_burst_of_unknown_kids_fetches_at_most_once_per_cooldown(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    for n in range(50):
        with pytest.raises(InvalidToken):
            source.key_for(kid=f"forged-{n}", alg="EdDSA")
    assert fetch.calls == 2  # the warm-up plus one re-fetch
    clock.advance(29)
    with pytest.raises(InvalidToken):
        source.key_for(kid="forged-again", alg="EdDSA")
    assert fetch.calls == 2
    clock.advance(2)
    with pytest.raises(InvalidToken):
        source.key_for(kid="forged-later", alg="EdDSA")
    assert fetch.calls == 3


def test_known_kid_with_the_wrong_alg_does_not_refetch(
    source: FetchedJwks, fetch: FakeFetch
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    with pytest.raises(InvalidToken) as refused:
        source.key_for(kid="test-eddsa", alg="ES256")
    assert refused.value.reason == "key_mismatch"
    assert fetch.calls == 1


def test_failed_refresh_keeps_stale_keys(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.error = OSError("connection refused")
    clock.advance(301)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert fetch.calls == 2
    source.key_for(kid="test-eddsa", alg="EdDSA")  # within the failure backoff: no new attempt
    assert fetch.calls == 2
    fetch.error = None
    clock.advance(6)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(OSError("connection refused"), id="unreachable"),
        pytest.param(TimeoutError("timed out"), id="timeout"),
        pytest.param(ValueError("not JSON"), id="garbage"),
    ],
)
def test_cold_start_without_keys_is_keys_unavailable_not_invalid(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, error: Exception
) -> None:
    fetch.error = error
    with pytest.raises(KeysUnavailable) as unavailable:
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert unavailable.value.retry_after_seconds >= 1
    with pytest.raises(KeysUnavailable):  # backoff: no second attempt right away
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == 1
    fetch.error = None
    clock.advance(6)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"


def test_document_without_usable_keys_counts_as_a_failed_fetch(
    source: FetchedJwks, fetch: FakeFetch
) -> None:
    fetch.document = {"keys": []}
    with pytest.raises(KeysUnavailable):
        source.key_for(kid="test-eddsa", alg="EdDSA")


def test_threads_on_a_cold_cache_share_one_fetch(keys: TestKeys, clock: FakeClock) -> None:
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow_fetch(url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
        calls.append(url)
        started.set()
        release.wait(5)
        return keys.jwks(("EdDSA",))

    source = FetchedJwks(
        "http://jwks.test", fetch=slow_fetch, clock=clock, ttl=300, cooldown=30, timeout=3,
        max_bytes=64_000,
    )  # fmt: skip
    results: list[str | None] = []

    def verify_one() -> None:
        results.append(source.key_for(kid="test-eddsa", alg="EdDSA").kid)

    threads = [threading.Thread(target=verify_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["test-eddsa"] * 8
    assert len(calls) == 1
