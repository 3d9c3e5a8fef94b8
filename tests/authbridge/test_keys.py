"""parse_jwks, pick_key, PinnedJwks and the FetchedJwks cache policy (fake fetch, fake clock)."""

import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed448 as ed448_keys
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.jwks import FetchedJwks
from authbridge.keys import MAX_JWKS_KEYS, JwksError, PinnedJwks, parse_jwks, pick_key
from tests.authbridge.conftest import FakeClock, FakeFetch, fake_jwks_source
from tests.conftest import ASYMMETRIC_ALGS, TestKeys


def clocked_source(fetch: Any, clock: FakeClock, **options: Any) -> FetchedJwks:
    """fake_jwks_source with ``clock`` as its wall clock too (iat values below are on it)."""
    return fake_jwks_source(fetch, clock, wall_clock=clock, **options)


@pytest.fixture
def source(fetch: FakeFetch, clock: FakeClock) -> FetchedJwks:
    return clocked_source(fetch, clock, url="http://jwks.test/jwks")


def unknown(
    source: FetchedJwks, kid: str, alg: str = "EdDSA", *, issued_at: float | None = None
) -> InvalidToken:
    with pytest.raises(InvalidToken) as refused:
        source.key_for(kid=kid, alg=alg, issued_at=issued_at)
    return refused.value


def not_yet(
    source: FetchedJwks, kid: str, alg: str = "EdDSA", *, issued_at: float | None = None
) -> KeysUnavailable:
    with pytest.raises(KeysUnavailable) as unavailable:
        source.key_for(kid=kid, alg=alg, issued_at=issued_at)
    return unavailable.value


# --- parse_jwks ----------------------------------------------------------------------------------


def test_parse_jwks_keeps_each_keys_metadata(keys: TestKeys) -> None:
    parsed = parse_jwks(keys.jwks())
    assert [key.kid for key in parsed] == [keys.kid(alg) for alg in ASYMMETRIC_ALGS]
    ec = next(key for key in parsed if key.kid == "test-es384")
    assert (ec.kty, ec.crv, ec.declared_alg, ec.use) == ("EC", "P-384", "ES384", "sig")


def test_parse_jwks_skips_keys_it_cannot_use(keys: TestKeys) -> None:
    document = keys.jwks(("EdDSA",))
    document["keys"] += [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac-in-jwks"},
        {"kty": "EC", "crv": "P-256", "kid": "broken", "x": "AA", "y": "AA"},
        {"kty": "RSA", "kid": "no-modulus"},
        "not-an-object",
        {"kid": "no-kty"},
    ]
    assert [key.kid for key in parse_jwks(document)] == ["test-eddsa"]


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({}, id="no-keys"),
        pytest.param({"keys": "x"}, id="keys-not-a-list"),
        pytest.param({"keys": []}, id="empty"),
        pytest.param({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, id="only-symmetric"),
    ],
)
def test_parse_jwks_refuses_unusable_documents(document: Any) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


# --- pick_key ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
def test_pick_key_finds_each_algorithms_key_by_kid(keys: TestKeys, alg: str) -> None:
    picked = pick_key(parse_jwks(keys.jwks()), kid=keys.kid(alg), alg=alg)
    assert picked is not None
    assert picked.kid == keys.kid(alg)


@pytest.mark.parametrize(
    ("jwk_alg", "token_alg", "drop_alg"),
    [
        pytest.param("RS256", "ES256", False, id="rsa-key-for-es256"),
        pytest.param("ES256", "RS256", False, id="ec-key-for-rs256"),
        pytest.param("ES256", "ES384", True, id="p256-key-for-es384"),
        pytest.param("ES512", "ES384", True, id="p521-key-for-es384"),
        pytest.param("ES256", "EdDSA", False, id="ec-key-for-eddsa"),
        pytest.param("EdDSA", "ES256", False, id="okp-key-for-es256"),
        pytest.param("PS256", "RS256", False, id="declared-ps256-for-rs256"),
        pytest.param("RS256", "RS512", False, id="declared-rs256-for-rs512"),
        pytest.param("RS256", "HS256", True, id="rsa-key-for-hs256"),
    ],
)
def test_pick_key_refuses_a_key_that_does_not_fit_the_alg(
    keys: TestKeys, jwk_alg: str, token_alg: str, drop_alg: bool
) -> None:
    jwk = keys.public_jwk(jwk_alg)
    if drop_alg:  # only the key type / curve can tell
        del jwk["alg"]
    assert pick_key(parse_jwks({"keys": [jwk]}), kid=jwk["kid"], alg=token_alg) is None


def test_rsa_key_without_declared_alg_serves_rs_and_ps(keys: TestKeys) -> None:
    jwk = keys.public_jwk("RS256")
    del jwk["alg"]
    parsed = parse_jwks({"keys": [jwk]})
    for alg in ("RS256", "RS512", "PS256", "PS512"):
        assert pick_key(parsed, kid=jwk["kid"], alg=alg) is not None


def test_key_marked_for_encryption_is_not_used_for_signatures(keys: TestKeys) -> None:
    jwk = {**keys.public_jwk("ES256"), "use": "enc"}
    assert pick_key(parse_jwks({"keys": [jwk]}), kid=jwk["kid"], alg="ES256") is None


def test_without_kid_only_a_single_fitting_key_is_used(keys: TestKeys) -> None:
    one = parse_jwks(keys.jwks(("EdDSA", "ES256")))
    picked = pick_key(one, kid=None, alg="EdDSA")
    assert picked is not None
    assert picked.kid == "test-eddsa"
    two = parse_jwks({"keys": [keys.public_jwk("EdDSA"), keys.public_jwk("EdDSA", kid="b")]})
    assert pick_key(two, kid=None, alg="EdDSA") is None


# --- PinnedJwks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kid", "alg", "reason"),
    [
        pytest.param("nope", "EdDSA", "unknown_kid", id="unknown-kid"),
        pytest.param("test-eddsa", "ES256", "key_mismatch", id="known-kid-wrong-alg"),
        pytest.param(None, "ES512", "no_kid", id="no-kid-none-fits"),
    ],
)
def test_pinned_jwks_refusals(keys: TestKeys, kid: str | None, alg: str, reason: str) -> None:
    pinned = PinnedJwks(parse_jwks(keys.jwks(("EdDSA", "ES256"))))
    assert pinned.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    with pytest.raises(InvalidToken) as refused:
        pinned.key_for(kid=kid, alg=alg)
    assert refused.value.reason == reason


# --- FetchedJwks: TTL ----------------------------------------------------------------------


def test_keys_are_fetched_once_and_cached_for_the_ttl(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    for _ in range(5):
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert fetch.calls == [("http://jwks.test/jwks", 3, 64_000)]
    clock.advance(299)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert len(fetch.calls) == 1
    clock.advance(2)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert len(fetch.calls) == 2


def test_ttl_refresh_picks_up_a_new_key_set(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.document = keys.jwks(("ES384",))  # test-eddsa retired
    clock.advance(301)
    assert source.key_for(kid="test-es384", alg="ES384").kid == "test-es384"
    assert unknown(source, "test-eddsa").reason == "revoked_kid"  # seen 301 s earlier


# --- FetchedJwks: unknown kid and cooldown ------------------------------------------------


def test_unknown_kid_refetches_once_and_finds_a_rotated_key(
    source: FetchedJwks, fetch: FakeFetch, keys: TestKeys, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.document = {"keys": [*fetch.document["keys"], keys.public_jwk("EdDSA", kid="rotated")]}
    assert source.key_for(kid="rotated", alg="EdDSA", issued_at=clock.now).kid == "rotated"
    assert len(fetch.calls) == 2
    source.key_for(kid="rotated", alg="EdDSA", issued_at=clock.now)
    assert len(fetch.calls) == 2


def test_burst_of_unknown_kids_fetches_at_most_once_per_cooldown(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    # Tokens issued just now: a key newer than the last fetch is possible, so one look each way.
    first = not_yet(source, "forged-0", issued_at=clock.now)
    assert (first.reason, first.retry_after_seconds) == ("kid_not_published", 30)
    for n in range(1, 50):  # cannot be looked up within the cooldown: judged later, not now
        assert not_yet(source, f"forged-{n}", issued_at=clock.now).reason == "kid_cooldown"
    assert len(fetch.calls) == 2  # the warm-up plus one re-fetch
    clock.advance(29)
    assert not_yet(source, "forged-again", issued_at=clock.now).retry_after_seconds == 1
    assert len(fetch.calls) == 2
    clock.advance(1)
    assert not_yet(source, "forged-later-0", issued_at=clock.now).reason == "kid_not_published"
    for n in range(1, 50):
        not_yet(source, f"forged-later-{n}", issued_at=clock.now)
    assert len(fetch.calls) == 3
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"  # still served


@pytest.mark.parametrize("warm", [False, True], ids=["cold-start", "ttl-expired"])
def test_keys_fetched_for_this_token_are_not_fetched_again_for_its_kid(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, warm: bool
) -> None:
    if warm:
        source.key_for(kid="test-eddsa", alg="EdDSA")
        clock.advance(301)
    assert not_yet(source, "forged", issued_at=clock.now).reason == "kid_not_published"
    assert len(fetch.calls) == 1 + warm  # the fetch this call made was the re-fetch


def test_known_kid_with_the_wrong_alg_does_not_refetch(
    source: FetchedJwks, fetch: FakeFetch
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert unknown(source, "test-eddsa", alg="ES256").reason == "key_mismatch"
    assert len(fetch.calls) == 1


# --- FetchedJwks: failures -----------------------------------------------------------------------


def test_failed_refresh_keeps_stale_keys_after_the_ttl(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.error = OSError("connection refused")
    clock.advance(301)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 2
    source.key_for(kid="test-eddsa", alg="EdDSA")  # within the failure backoff: no new attempt
    assert len(fetch.calls) == 2
    clock.advance(600)  # far past the TTL, still down: the stale keys keep working
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 3
    fetch.error = None
    clock.advance(6)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert len(fetch.calls) == 4
    clock.advance(299)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert len(fetch.calls) == 4  # fresh again after the successful fetch


def test_unknown_kid_while_the_jwks_is_down_is_a_503_with_stale_keys(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.error = OSError("connection refused")
    # No fetch said the kid is absent, so the token cannot be judged: 503, not a sign-out.
    assert not_yet(source, "rotated-meanwhile", issued_at=clock.now).reason == "jwks_unavailable"
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"  # stale keys serve


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
    assert unavailable.value.retry_after_seconds == 5
    clock.advance(2)
    with pytest.raises(KeysUnavailable) as again:  # backoff: no second attempt right away
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert again.value.retry_after_seconds == 3
    assert len(fetch.calls) == 1
    fetch.error = None
    clock.advance(3)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"


def test_document_without_usable_keys_counts_as_a_failed_fetch(
    source: FetchedJwks, fetch: FakeFetch
) -> None:
    fetch.document = {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}
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

    source = clocked_source(slow_fetch, clock)
    results: list[str | None] = []

    def verify_one() -> None:
        results.append(source.key_for(kid="test-eddsa", alg="EdDSA").kid)

    threads = [threading.Thread(target=verify_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    assert started.wait(5)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == ["test-eddsa"] * 8
    assert len(calls) == 1


# --- key hygiene: key_ops, RSA size, a cap on keys (issue 10, item 5) --------------------------


@pytest.mark.parametrize(
    ("key_ops", "kept"),
    [
        pytest.param(["verify"], True, id="verify"),
        pytest.param(["sign", "verify"], True, id="sign-and-verify"),
        pytest.param(["sign"], False, id="sign-only"),
        pytest.param(["encrypt"], False, id="encrypt"),
        pytest.param([], False, id="none-allowed"),
        pytest.param("verify", False, id="not-a-list"),
    ],
)
def test_key_ops_when_present_must_allow_verify(keys: TestKeys, key_ops: Any, kept: bool) -> None:
    jwk = {**keys.public_jwk("ES256"), "key_ops": key_ops}
    document = {"keys": [keys.public_jwk("EdDSA"), jwk]}
    assert ("test-es256" in [key.kid for key in parse_jwks(document)]) is kept


def test_rsa_keys_under_2048_bits_are_skipped(keys: TestKeys) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    jwk = {**json.loads(RSAAlgorithm.to_jwk(small.public_key())), "kid": "small", "alg": "RS256"}
    parsed = parse_jwks({"keys": [jwk, keys.public_jwk("RS256")]})
    assert [key.kid for key in parsed] == ["test-rs256"]


def test_no_more_than_max_jwks_keys_are_taken_from_one_document(keys: TestKeys) -> None:
    many = [keys.public_jwk("EdDSA", kid=f"k{n}") for n in range(MAX_JWKS_KEYS + 8)]
    parsed = parse_jwks({"keys": many})
    assert [key.kid for key in parsed] == [f"k{n}" for n in range(MAX_JWKS_KEYS)]


def test_private_members_are_never_kept_for_the_cache(keys: TestKeys) -> None:
    private = json.loads(OKPAlgorithm.to_jwk(keys.ed25519))  # "d" is the private key
    parsed = parse_jwks({"keys": [{**private, "kid": "with-d", "alg": "EdDSA"}]})
    assert "d" in private
    assert "d" not in parsed[0].public
    assert parsed[0].public["x"] == private["x"]


# --- Ed25519, RFC 9864's name for EdDSA over Ed25519 (item 10) ---------------------------------


@pytest.mark.parametrize("jwk_alg", ["EdDSA", "Ed25519", None])
@pytest.mark.parametrize("token_alg", ["EdDSA", "Ed25519"])
def test_either_name_fits_an_ed25519_key(
    keys: TestKeys, jwk_alg: str | None, token_alg: str
) -> None:
    jwk = {**keys.public_jwk("EdDSA"), "alg": jwk_alg}
    if jwk_alg is None:
        del jwk["alg"]
    picked = pick_key(parse_jwks({"keys": [jwk]}), kid="test-eddsa", alg=token_alg)
    assert picked is not None


def test_ed25519_never_fits_another_key() -> None:
    ed448 = json.loads(OKPAlgorithm.to_jwk(ed448_keys.Ed448PrivateKey.generate().public_key()))
    parsed = parse_jwks({"keys": [{**ed448, "kid": "ed448", "alg": "EdDSA"}]})
    assert parsed[0].fits("EdDSA")  # the old name covers Ed448 too
    assert not parsed[0].fits("Ed25519")
    # A JWK that claims the new name for an Ed448 key is not a key at all.
    with pytest.raises(JwksError):
        parse_jwks({"keys": [{**ed448, "kid": "liar", "alg": "Ed25519"}]})


@pytest.mark.parametrize("jwk_alg", ["ES256", "RS256"])
def test_ed25519_does_not_fit_ec_or_rsa_keys(keys: TestKeys, jwk_alg: str) -> None:
    jwk = keys.public_jwk(jwk_alg)
    del jwk["alg"]
    assert pick_key(parse_jwks({"keys": [jwk]}), kid=jwk["kid"], alg="Ed25519") is None


# --- backoff from the end of a failed fetch (item 3) --------------------------------------------


def test_backoff_counts_from_the_end_of_a_slow_failed_fetch(
    fetch: FakeFetch, clock: FakeClock
) -> None:
    def slow_failure(url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
        fetch(url, timeout=timeout, max_bytes=max_bytes)
        clock.advance(10)  # longer than the 5 s backoff
        raise TimeoutError("timed out")

    source = clocked_source(slow_failure, clock, timeout=10)
    with pytest.raises(KeysUnavailable):
        source.key_for(kid="test-eddsa", alg="EdDSA")
    clock.advance(1)  # a request queued behind the slow fetch
    with pytest.raises(KeysUnavailable) as unavailable:
        source.key_for(kid="test-eddsa", alg="EdDSA")
    assert unavailable.value.retry_after_seconds == 4
    assert len(fetch.calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RecursionError("maximum recursion depth exceeded"), id="recursion"),
        pytest.param(RuntimeError("surprise"), id="anything-else"),
        pytest.param(MemoryError(), id="memory"),
    ],
)
def test_any_failure_to_fetch_or_parse_is_a_failed_fetch(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, error: Exception
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    fetch.error = error
    clock.advance(301)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"  # stale keys
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 2  # one failed attempt, then the backoff


# --- an unknown kid that cannot be looked up now is 503, not 401 (item 6) ---------------------


def test_a_key_rotated_after_a_forged_kid_is_503_until_the_cooldown_ends(
    source: FetchedJwks, fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    source.key_for(kid="test-eddsa", alg="EdDSA")
    assert not_yet(source, "forged", issued_at=clock.now).reason == "kid_not_published"
    fetch.document = {"keys": [*fetch.document["keys"], keys.public_jwk("EdDSA", kid="rotated")]}
    clock.advance(12)
    unavailable = not_yet(source, "rotated", issued_at=clock.now)
    assert (unavailable.reason, unavailable.retry_after_seconds) == ("kid_cooldown", 18)
    clock.advance(18)
    assert source.key_for(kid="rotated", alg="EdDSA", issued_at=clock.now).kid == "rotated"
    assert len(fetch.calls) == 3


def test_unknown_kid_while_another_thread_fetches_is_503(keys: TestKeys, clock: FakeClock) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def fetch(url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
        calls.append(url)
        if len(calls) > 1:  # the TTL refresh hangs
            started.set()
            release.wait(5)
        return keys.jwks(("EdDSA",))

    source = clocked_source(fetch, clock)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    clock.advance(301)
    refresher = threading.Thread(
        target=source.key_for, kwargs={"kid": "test-eddsa", "alg": "EdDSA"}
    )
    refresher.start()
    try:
        assert started.wait(5)
        assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"  # stale serve
        unavailable = not_yet(source, "new-kid", issued_at=clock.now)
        assert (unavailable.reason, unavailable.retry_after_seconds) == ("kid_fetch_in_flight", 1)
    finally:
        release.set()
        refresher.join(5)
    assert len(calls) == 2


# --- the last good JWKS outlives the process (item 7) ---------------------------------------


class MemoryStore:
    def __init__(self) -> None:
        self.entry: tuple[Mapping[str, Any], float] | None = None
        self.saved: list[Mapping[str, Any]] = []
        self.claims: list[float] = []
        self.claimable = True  # False: another process is fetching

    def load(self) -> tuple[Mapping[str, Any], float] | None:
        return self.entry

    def save(self, document: Mapping[str, Any]) -> None:
        self.saved.append(document)
        self.entry = (document, 0.0)

    def claim(self, seconds: float) -> bool:
        self.claims.append(seconds)
        return self.claimable


def stored_source(fetch: FakeFetch, clock: FakeClock, store: MemoryStore) -> FetchedJwks:
    return clocked_source(fetch, clock, store=store)


def test_a_new_process_starts_from_the_stored_keys_without_fetching(
    fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    store = MemoryStore()
    stored_source(fetch, clock, store).key_for(kid="test-eddsa", alg="EdDSA")
    assert store.saved == [{"keys": fetch.document["keys"]}]
    fetch.error = OSError("Better Auth is down")
    fresh_process = stored_source(fetch, clock, store)
    assert fresh_process.key_for(kid="test-es256", alg="ES256").kid == "test-es256"
    assert len(fetch.calls) == 1


def test_stored_keys_past_the_ttl_serve_while_the_jwks_is_down(
    fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    store = MemoryStore()
    store.entry = (keys.jwks(("EdDSA",)), 3600.0)  # fetched an hour ago by another process
    fetch.error = OSError("Better Auth is down")
    source = stored_source(fetch, clock, store)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 1  # past the TTL: it tried


def test_stored_keys_past_the_ttl_are_refreshed_when_the_jwks_is_up(
    fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    store = MemoryStore()
    store.entry = (keys.jwks(("ES384",)), 3600.0)
    source = stored_source(fetch, clock, store)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 1
    assert len(store.saved) == 1


@pytest.mark.parametrize(
    "entry", [({"keys": []}, 1.0), ({"nothing": 1}, 1.0)], ids=["no-keys", "not-a-jwks"]
)
def test_an_unusable_stored_entry_is_no_entry(
    fetch: FakeFetch, clock: FakeClock, entry: tuple[Mapping[str, Any], float]
) -> None:
    store = MemoryStore()
    store.entry = entry
    assert stored_source(fetch, clock, store).key_for(kid="test-eddsa", alg="EdDSA")
    assert len(fetch.calls) == 1


def test_a_process_past_its_ttl_takes_newer_stored_keys_instead_of_fetching(
    fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    store = MemoryStore()
    source = stored_source(fetch, clock, store)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    clock.now += 301  # this process's keys are past the TTL...
    store.entry = (keys.jwks(("EdDSA",)), 1.0)  # ...and another process fetched a second ago
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 1  # only this process's first fetch


def test_a_cold_process_waits_for_the_fetch_another_one_claimed(
    fetch: FakeFetch, clock: FakeClock, keys: TestKeys
) -> None:
    store = MemoryStore()
    store.claimable = False
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # the other process saves while this one waits
        naps.append(seconds)
        clock.now += seconds
        if len(naps) == 3:
            store.entry = (keys.jwks(("EdDSA",)), 0.0)

    source = clocked_source(fetch, clock, store=store, sleep=sleep)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert fetch.calls == []
    assert len(naps) == 3


def test_a_cold_process_fetches_itself_when_the_claimed_fetch_never_lands(
    fetch: FakeFetch, clock: FakeClock
) -> None:
    store = MemoryStore()
    store.claimable = False
    naps: list[float] = []
    source = clocked_source(fetch, clock, store=store, sleep=naps.append)
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 1
    assert 0 < sum(naps) <= 3.05  # waited at most the fetch timeout


def test_a_warm_process_past_its_ttl_serves_its_keys_while_another_fetches(
    fetch: FakeFetch, clock: FakeClock
) -> None:
    store = MemoryStore()
    source = stored_source(fetch, clock, store)
    source.key_for(kid="test-eddsa", alg="EdDSA")
    clock.now += 301
    store.claimable = False
    assert source.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"
    assert len(fetch.calls) == 1  # no second fetch, no wait: the other process's keys come next
