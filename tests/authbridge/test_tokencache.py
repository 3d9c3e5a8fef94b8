"""The cache of verified tokens: used only while the token and its key are still good."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from authbridge.config import get_verifier
from authbridge.errors import InvalidToken, KeysUnavailable
from authbridge.identity import Identity
from authbridge.jwks import FetchedJwks
from authbridge.tokencache import VerifiedTokens
from authbridge.verify import Verifier
from tests.authbridge.conftest import FakeClock, FakeFetch, fake_jwks_source
from tests.conftest import TEST_ISSUER, TEST_SECRET, TestKeys


class DecodeSpy:
    """Counts the signature checks (jwt.decode calls) the verifier makes: one per full
    (uncached) verification; reading the claims unverified first is not one."""

    def __init__(self) -> None:
        self.calls = 0
        self.decode = jwt.decode

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += kwargs.get("options", {}).get("verify_signature", True)
        return self.decode(*args, **kwargs)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> DecodeSpy:
    spy = DecodeSpy()
    monkeypatch.setattr(jwt, "decode", spy)  # the module authbridge.verify calls
    return spy


@pytest.fixture
def cache_clock() -> FakeClock:
    """The cache's wall clock, starting now (tokens are signed with the real time)."""
    clock = FakeClock()
    clock.now = time.time()
    return clock


@pytest.fixture
def jwks_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source(fetch: FakeFetch, jwks_clock: FakeClock) -> FetchedJwks:
    return fake_jwks_source(fetch, jwks_clock, url="http://jwks.test/jwks")


@pytest.fixture(params=["HS256", "EdDSA"])
def alg(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def verifier_over(
    source: Any, *, tokens: VerifiedTokens | None = None, leeway_seconds: int = 10
) -> Verifier:
    return Verifier(
        jwks=source,
        secrets=(TEST_SECRET,),
        issuer=TEST_ISSUER,
        audiences=(TEST_ISSUER,),
        leeway_seconds=leeway_seconds,
        verified_tokens=tokens,
    )


def test_a_repeated_token_is_verified_once(
    source: FetchedJwks, decodes: DecodeSpy, make_token: Any, alg: str
) -> None:
    verifier = verifier_over(source)
    token = make_token(alg)
    first, second = verifier.verify(token), verifier.verify(token)
    assert first == second
    assert first.user_id == "user-1"
    assert decodes.calls == 1


def test_an_entry_is_not_used_at_or_after_exp(
    source: FetchedJwks, decodes: DecodeSpy, cache_clock: FakeClock, make_token: Any, alg: str
) -> None:
    verifier = verifier_over(source, tokens=VerifiedTokens(clock=cache_clock))
    token = make_token(alg, exp=int(cache_clock.now) + 60)
    verifier.verify(token)
    cache_clock.now = int(cache_clock.now) + 59.9
    verifier.verify(token)
    assert decodes.calls == 1
    cache_clock.now += 0.1  # at exp: the verifier decides again (with its leeway)
    verifier.verify(token)
    assert decodes.calls == 2


def test_a_token_accepted_only_by_the_leeway_is_never_cached(
    source: FetchedJwks, decodes: DecodeSpy, make_token: Any
) -> None:
    verifier = verifier_over(source, leeway_seconds=30)
    token = make_token("EdDSA", exp=int(time.time()) - 5)
    verifier.verify(token)
    verifier.verify(token)
    assert decodes.calls == 2


def test_an_entry_lives_at_most_the_maximum_token_lifetime(cache_clock: FakeClock) -> None:
    tokens = VerifiedTokens(clock=cache_clock)
    identity = Identity("u", None, None, {"exp": cache_clock.now + 10_000})
    tokens.put("a.b.c", identity, alg="HS256", kid=None, key=None, max_age=60)
    cache_clock.advance(59)
    assert tokens.get("a.b.c") is not None
    cache_clock.advance(1)
    assert tokens.get("a.b.c") is None
    assert len(tokens) == 0


def test_a_key_removed_from_the_jwks_stops_working_as_without_the_cache(
    fetch: FakeFetch, keys: TestKeys, jwks_clock: FakeClock, make_token: Any
) -> None:
    """The same sequence, cache on and off: the same answers (401 revoked_kid: the JWKS that
    dropped the key was fetched longer than the staleness margin after one that held it)."""
    outcomes = {}
    for size in (0, 100):
        fetch.document = keys.jwks(("EdDSA", "ES256"))
        jwks_clock.now = 1000.0
        wall = FakeClock()
        wall.now = time.time()
        source = fake_jwks_source(fetch, jwks_clock, url="http://jwks.test/jwks", wall_clock=wall)
        verifier = verifier_over(source, tokens=VerifiedTokens(max_entries=size))
        token = make_token("EdDSA")
        seen: list[str] = [verifier.verify(token).user_id, verifier.verify(token).user_id]
        fetch.document = keys.jwks(("ES256",))  # the EdDSA key is withdrawn
        jwks_clock.advance(301)  # past the JWKS TTL: the next look refetches
        wall.advance(301)
        for _ in range(3):  # refreshed (TTL), then judged from that document, never a 503
            with pytest.raises((InvalidToken, KeysUnavailable)) as refused:
                verifier.verify(token)
            seen.append(f"{refused.value.status}:{refused.value.reason}")
        outcomes[size] = seen
    expected = ["user-1", "user-1", "401:revoked_kid", "401:revoked_kid", "401:revoked_kid"]
    assert outcomes[0] == expected
    assert outcomes[100] == expected


def test_a_kid_given_to_another_key_is_verified_again_and_refused(
    source: FetchedJwks, fetch: FakeFetch, keys: TestKeys, jwks_clock: FakeClock, make_token: Any
) -> None:
    verifier = verifier_over(source)
    token = make_token("EdDSA")
    verifier.verify(token)
    other = TestKeys()  # a new Ed25519 key published under the same kid
    fetch.document = {"keys": [other.public_jwk("EdDSA", kid=keys.kid("EdDSA"))]}
    jwks_clock.advance(301)
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(token)
    assert refused.value.reason == "bad_signature"


def test_a_jwks_refresh_that_keeps_the_key_keeps_the_token_working(
    source: FetchedJwks, fetch: FakeFetch, jwks_clock: FakeClock, make_token: Any
) -> None:
    verifier = verifier_over(source)
    token = make_token("EdDSA")
    verifier.verify(token)
    jwks_clock.advance(301)
    assert verifier.verify(token).user_id == "user-1"
    assert len(fetch.calls) == 2


def test_different_tokens_never_share_an_entry(
    source: FetchedJwks, decodes: DecodeSpy, make_token: Any, alg: str
) -> None:
    verifier = verifier_over(source)
    alice, bob = make_token(alg, sub="alice"), make_token(alg, sub="bob")
    assert verifier.verify(alice).user_id == "alice"
    assert verifier.verify(bob).user_id == "bob"
    assert verifier.verify(alice).user_id == "alice"
    header, payload, signature = alice.split(".")
    # Change one character well inside the signature: its last characters carry padding bits,
    # and a change there can make the token malformed rather than wrongly signed.
    flipped = "B" if signature[10] == "A" else "A"
    forged = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(forged)
    assert refused.value.reason == "bad_signature"
    assert decodes.calls == 3


def test_a_refused_token_is_never_remembered(
    source: FetchedJwks, decodes: DecodeSpy, make_token: Any
) -> None:
    verifier = verifier_over(source)
    token = make_token("HS256", key="another-secret-" + "x" * 32)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
    assert decodes.calls == 2


def test_the_cache_is_bounded_and_drops_the_least_recently_used(
    source: FetchedJwks, decodes: DecodeSpy, make_token: Any
) -> None:
    tokens = VerifiedTokens(max_entries=2)
    verifier = verifier_over(source, tokens=tokens)
    first, second, third = (make_token("HS256", sub=f"user-{n}") for n in range(3))
    verifier.verify(first)
    verifier.verify(second)
    verifier.verify(first)  # second is now the least recently used
    verifier.verify(third)
    assert len(tokens) == 2
    assert decodes.calls == 3
    verifier.verify(first)
    assert decodes.calls == 3
    verifier.verify(second)
    assert decodes.calls == 4


def test_threads_share_the_cache_safely(cache_clock: FakeClock) -> None:
    tokens = VerifiedTokens(max_entries=64, clock=cache_clock)
    identity = Identity("u", None, None, {"exp": cache_clock.now + 600})
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(500):
                raw = f"{n}.{i}.token"
                tokens.put(raw, identity, alg="HS256", kid=None, key=None, max_age=600)
                tokens.get(raw)
                tokens.get(f"{n}.{i - 1}.token")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(tokens) == 64


@pytest.fixture
def fresh_verifier() -> Iterator[None]:
    get_verifier.cache_clear()
    yield
    get_verifier.cache_clear()


def test_a_changed_hmac_secret_refuses_a_token_verified_before(
    settings: Any, make_token: Any, fresh_verifier: None
) -> None:
    token = make_token("HS256")
    assert get_verifier().verify(token).user_id == "user-1"
    settings.BETTER_AUTH_SECRET = "a-new-secret-" + "y" * 40
    with pytest.raises(InvalidToken) as refused:
        get_verifier().verify(token)
    assert refused.value.reason == "bad_signature"


def test_a_cached_token_still_gets_403_on_another_users_path(
    client: Any, make_token: Any, fresh_verifier: None
) -> None:
    token = make_token("EdDSA", sub="alice")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    assert client.get("/api/me", headers=headers).status_code == 200
    assert client.get("/api/bob/tasks", headers=headers).status_code == 403
