"""Verifier, read_header, identity_from, check_issuer_and_audience: CONTRACT §2 without HTTP."""

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from authbridge.claims import check_issuer_and_audience, identity_from
from authbridge.config import get_verifier
from authbridge.errors import InvalidToken
from authbridge.header import MAX_TOKEN_BYTES, read_header
from authbridge.keys import PinnedJwks, parse_jwks
from authbridge.verify import Verifier
from tests.authbridge.conftest import make_verifier
from tests.conftest import ASYMMETRIC_ALGS, HMAC_ALGS, TEST_ISSUER, TEST_SECRET, TestKeys


def refusal(verifier: Verifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(token)
    return refused.value


# --- every supported algorithm ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ASYMMETRIC_ALGS + HMAC_ALGS)
def test_every_supported_algorithm_verifies(
    pinned_verifier: Verifier, make_token: Any, alg: str
) -> None:
    identity = pinned_verifier.verify(make_token(alg, sub="ann", email="a@x.io", name="Ann"))
    assert (identity.user_id, identity.email, identity.name) == ("ann", "a@x.io", "Ann")
    assert identity.claims["iss"] == TEST_ISSUER


def test_refusal_carries_alg_and_kid_for_the_log(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    error = refusal(pinned_verifier, make_token("ES256", exp=int(time.time()) - 60))
    assert (error.reason, error.alg, error.kid) == ("expired", "ES256", "test-es256")


# --- read_header -------------------------------------------------------------------------------


def test_read_header_returns_the_header(make_token: Any) -> None:
    header = read_header(make_token("EdDSA", headers={"typ": "JWT"}))
    assert (header["alg"], header["kid"], header["typ"]) == ("EdDSA", "test-eddsa", "JWT")


@pytest.mark.parametrize("field", ["jku", "x5u", "jwk", "x5c"])
def test_read_header_refuses_a_key_or_key_url_without_following_it(
    make_token: Any, field: str
) -> None:
    token = make_token("EdDSA", headers={field: "http://127.0.0.1:1/k"})
    with pytest.raises(InvalidToken) as refused:
        read_header(token)
    assert (refused.value.reason, refused.value.alg, refused.value.kid) == (
        "embedded_key",
        "EdDSA",
        "test-eddsa",
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("x" * (MAX_TOKEN_BYTES + 1), "too_long", id="over-8-kib"),
        pytest.param("é" * (MAX_TOKEN_BYTES // 2 + 1), "too_long", id="over-8-kib-in-bytes"),
        pytest.param("", "not_a_jwt", id="empty"),
        pytest.param("abc", "not_a_jwt", id="no-dot"),
        pytest.param("abc.def", "not_a_jwt", id="one-dot"),
        pytest.param("a.b.c.d", "not_a_jwt", id="three-dots"),
        pytest.param("a.b.c", "malformed", id="garbage-segments"),
        pytest.param("W10.e30.", "malformed", id="header-is-a-list"),
    ],
)
def test_read_header_refuses_before_any_key_is_needed(raw: str, reason: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        read_header(raw)
    assert refused.value.reason == reason


def test_a_token_of_exactly_8_kib_is_not_refused_for_its_size() -> None:
    raw = "a.b." + "c" * (MAX_TOKEN_BYTES - 4)
    with pytest.raises(InvalidToken) as refused:
        read_header(raw)
    assert refused.value.reason == "malformed"


# --- identity_from: sub -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(42, id="int"),
        pytest.param(["u1"], id="list"),
        pytest.param("u" * 256, id="256-chars"),
        pytest.param("ann\x00", id="nul"),
    ],
)
def test_identity_from_refuses_a_bad_sub(sub: Any) -> None:
    claims = {"sub": sub} if sub is not None else {}
    with pytest.raises(InvalidToken) as refused:
        identity_from(claims)
    assert refused.value.reason == "bad_sub"


@pytest.mark.parametrize("sub", ["u", "u" * 255, "0GtisvCNbasH3NUKX5ppvDkX9DscROpx"])
def test_identity_from_accepts_a_sub_up_to_255_chars(sub: str) -> None:
    assert identity_from({"sub": sub}).user_id == sub


def test_identity_ignores_email_and_name_that_are_not_strings() -> None:
    identity = identity_from({"sub": "ann", "email": ["a@x.io"], "name": 7})
    assert (identity.email, identity.name) == (None, None)


def test_identity_is_immutable() -> None:
    identity = identity_from({"sub": "ann"})
    with pytest.raises(AttributeError):
        identity.user_id = "bob"  # type: ignore[misc]
    with pytest.raises(TypeError):
        identity.claims["sub"] = "bob"  # type: ignore[index]


@pytest.mark.parametrize(
    ("sub", "reason"),
    [
        pytest.param(None, "missing_claim", id="missing"),
        pytest.param("", "bad_sub", id="empty"),
        pytest.param(42, "invalid", id="not-a-string"),
        pytest.param("u" * 256, "bad_sub", id="256-chars"),
    ],
)
@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_signed_token_with_a_bad_sub_is_refused(
    pinned_verifier: Verifier, make_token: Any, alg: str, sub: Any, reason: str
) -> None:
    assert refusal(pinned_verifier, make_token(alg, sub=sub)).reason == reason


def test_signed_token_with_a_255_char_sub_verifies(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    assert pinned_verifier.verify(make_token(sub="u" * 255)).user_id == "u" * 255


# --- exp / nbf / iat and the 10 s leeway (margins of several seconds, no sleeping) -----------


@pytest.mark.parametrize(
    ("offsets", "reason"),
    [
        pytest.param({"exp": -5}, None, id="expired-5s-ago-within-leeway"),
        pytest.param({"exp": -30}, "expired", id="expired-30s-ago"),
        pytest.param({"nbf": 5}, None, id="nbf-in-5s-within-leeway"),
        pytest.param({"nbf": 30}, "immature", id="nbf-in-30s"),
        pytest.param({"iat": 5}, None, id="iat-in-5s-within-leeway"),
        pytest.param({"iat": 60}, "immature", id="iat-in-60s"),
    ],
)
def test_time_claims_honour_the_leeway(
    pinned_verifier: Verifier, make_token: Any, offsets: dict[str, int], reason: str | None
) -> None:
    now = int(time.time())
    token = make_token(**{name: now + offset for name, offset in offsets.items()})
    if reason is None:
        assert pinned_verifier.verify(token).user_id == "user-1"
    else:
        assert refusal(pinned_verifier, token).reason == reason


def test_leeway_is_configurable(keys: TestKeys, make_token: Any) -> None:
    token = make_token(exp=int(time.time()) - 30)
    jwks = PinnedJwks(parse_jwks(keys.jwks()))
    assert refusal(make_verifier(jwks=jwks, leeway_seconds=10), token).reason == "expired"
    assert make_verifier(jwks=jwks, leeway_seconds=60).verify(token).user_id == "user-1"


@pytest.mark.parametrize("alg", ["HS256", "EdDSA"])
def test_exp_is_required(pinned_verifier: Verifier, make_token: Any, alg: str) -> None:
    assert refusal(pinned_verifier, make_token(alg, exp=None)).reason == "missing_claim"


# --- iss / aud -------------------------------------------------------------------------------

OTHER = "https://other.example"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param({}, None, id="both-match"),
        pytest.param({"iss": TEST_ISSUER + "/"}, None, id="iss-trailing-slash"),
        pytest.param({"aud": TEST_ISSUER + "/"}, None, id="aud-trailing-slash"),
        pytest.param({"aud": [OTHER, TEST_ISSUER]}, None, id="aud-list-with-ours"),
        pytest.param({"iss": OTHER}, "bad_issuer", id="wrong-iss"),
        pytest.param({"iss": None}, "bad_issuer", id="missing-iss"),
        pytest.param({"iss": 7}, "bad_issuer", id="iss-not-a-string"),
        pytest.param({"aud": OTHER}, "bad_audience", id="wrong-aud"),
        pytest.param({"aud": [OTHER, "x"]}, "bad_audience", id="aud-list-without-ours"),
        pytest.param({"aud": None}, "bad_audience", id="missing-aud"),
        pytest.param({"aud": 7}, "bad_audience", id="aud-not-a-string"),
        pytest.param({"aud": {"a": TEST_ISSUER}}, "bad_audience", id="aud-an-object"),
    ],
)
def test_check_issuer_and_audience(claims: dict[str, Any], reason: str | None) -> None:
    full = {
        k: v for k, v in {"iss": TEST_ISSUER, "aud": TEST_ISSUER, **claims}.items() if v is not None
    }

    def check() -> None:
        check_issuer_and_audience(full, issuer=TEST_ISSUER, audiences=(TEST_ISSUER,))

    if reason is None:
        check()
    else:
        with pytest.raises(InvalidToken) as refused:
            check()
        assert refused.value.reason == reason


def test_expected_values_with_a_trailing_slash_match() -> None:
    claims = {"iss": TEST_ISSUER, "aud": TEST_ISSUER}
    check_issuer_and_audience(claims, issuer=TEST_ISSUER + "/", audiences=("x", TEST_ISSUER + "/"))


def test_hmac_tokens_are_not_checked_when_nothing_is_expected(
    make_token: Any, keys: TestKeys
) -> None:
    verifier = make_verifier(jwks=PinnedJwks(parse_jwks(keys.jwks())), issuer="", audiences=())
    assert verifier.verify(make_token("HS256", iss=OTHER, aud="anything")).user_id == "user-1"
    assert verifier.verify(make_token("HS256", iss=None, aud=None)).user_id == "user-1"


@pytest.mark.parametrize(
    ("issuer", "audiences"),
    [("", ()), (TEST_ISSUER, ()), ("", (TEST_ISSUER,))],
    ids=["neither", "no-audience", "no-issuer"],
)
def test_asymmetric_tokens_always_need_an_expected_issuer_and_audience(
    make_token: Any, keys: TestKeys, issuer: str, audiences: tuple[str, ...]
) -> None:
    """The same keys sign Better Auth's session-cache cookie: only iss/aud tell them apart."""
    verifier = make_verifier(
        jwks=PinnedJwks(parse_jwks(keys.jwks())), issuer=issuer, audiences=audiences
    )
    assert refusal(verifier, make_token("EdDSA")).reason == "no_issuer_audience"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param({"iss": OTHER}, "bad_issuer", id="wrong-iss"),
        pytest.param({"aud": OTHER}, "bad_audience", id="wrong-aud"),
        pytest.param({"aud": None}, "bad_audience", id="missing-aud"),
    ],
)
def test_verifier_checks_issuer_and_audience(
    pinned_verifier: Verifier, make_token: Any, claims: dict[str, Any], reason: str
) -> None:
    assert refusal(pinned_verifier, make_token(**claims)).reason == reason


# --- sources: each token kind only with its own keys ------------------------------------------


def test_hmac_token_without_a_secret_is_refused(keys: TestKeys, make_token: Any) -> None:
    verifier = make_verifier(jwks=PinnedJwks(parse_jwks(keys.jwks())), secrets=())
    assert refusal(verifier, make_token("HS256")).reason == "no_secret"


def test_asymmetric_token_without_a_jwks_is_refused(make_token: Any) -> None:
    verifier = make_verifier(jwks=None)
    assert refusal(verifier, make_token("EdDSA")).reason == "no_jwks"
    assert verifier.verify(make_token("HS256")).user_id == "user-1"


def test_secret_rotation_accepts_every_listed_secret(make_token: Any, settings: Any) -> None:
    old, new, third = "o" * 64, "n" * 64, "t" * 64
    settings.BETTER_AUTH_SECRET = ""
    settings.BETTER_AUTH_SECRETS = f"2:{new},1:{old}"
    for secret in (new, old):
        assert get_verifier().verify(make_token("HS512", key=secret)).user_id == "user-1"
    assert refusal(get_verifier(), make_token("HS512", key=third)).reason == "bad_signature"
    assert refusal(get_verifier(), make_token("HS512")).reason == "bad_signature"  # TEST_SECRET
    settings.BETTER_AUTH_SECRET = TEST_SECRET  # the single secret joins the list
    assert get_verifier().verify(make_token("HS512")).user_id == "user-1"
    assert get_verifier().verify(make_token("HS512", key=old)).user_id == "user-1"


@pytest.mark.parametrize("which", ["first", "last"])
def test_expired_token_signed_with_a_listed_secret_reports_expiry(
    make_token: Any, which: str
) -> None:
    secrets = ("a" * 40, "b" * 40)
    key = secrets[0] if which == "first" else secrets[1]
    token = make_token("HS256", key=key, exp=int(time.time()) - 60)
    assert refusal(make_verifier(secrets=secrets), token).reason == "expired"


def test_identity_carries_every_claim_of_the_token(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    token = make_token(sub="ann", name="Ann", email="a@x.io", role="admin", orgId="org-7")
    payload = jwt.decode(token, options={"verify_signature": False})
    identity = pinned_verifier.verify(token)
    assert (identity.user_id, identity.email, identity.name) == ("ann", "a@x.io", "Ann")
    assert dict(identity.claims) == payload
    assert (identity.claims["role"], identity.claims["orgId"]) == ("admin", "org-7")


# --- typ: a token meant for something else (issue 10, item 8) -------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", None])
def test_a_plain_jwt_typ_or_none_is_accepted(
    pinned_verifier: Verifier, make_token: Any, typ: str | None
) -> None:
    token = make_token("EdDSA", headers={"typ": typ} if typ else {})
    if typ is None:  # PyJWT adds typ JWT unless told not to
        token = make_token("EdDSA", headers={"typ": None})
    assert pinned_verifier.verify(token).user_id == "user-1"


@pytest.mark.parametrize(
    "typ",
    ["better-auth.session-cache+jwt", "at+jwt", "dpop+jwt", "JWE", 7, ["JWT"]],
)
@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_a_typ_naming_another_kind_of_token_is_refused(
    pinned_verifier: Verifier, make_token: Any, typ: Any, alg: str
) -> None:
    token = make_token(alg, headers={"typ": typ})
    assert refusal(pinned_verifier, token).reason == "bad_typ"


def test_better_auths_session_cache_cookie_is_not_a_user_token(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    """Signed with the same key, but typ and aud say what it is."""
    aud = "better-auth:session-cache"
    cookie = make_token(aud=aud, headers={"typ": "better-auth.session-cache+jwt"})
    assert refusal(pinned_verifier, cookie).reason == "bad_typ"
    assert refusal(pinned_verifier, make_token(aud=aud)).reason == "bad_audience"


# --- lifetime ceiling and numeric time claims (item 9) ------------------------------------------


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param({"exp": 86_400}, None, id="one-day"),
        pytest.param({"exp": 86_401}, "too_long_lived", id="a-day-and-a-second"),
        pytest.param({"exp": 365 * 86_400}, "too_long_lived", id="a-year"),
        pytest.param({"iat": None, "exp": 3600}, None, id="no-iat-an-hour-from-now"),
        pytest.param({"iat": None, "exp": 2 * 86_400}, "too_long_lived", id="no-iat-two-days"),
        pytest.param({"iat": -86_000, "exp": 600}, "too_long_lived", id="old-iat-long-exp"),
    ],
)
@pytest.mark.parametrize("alg", ["EdDSA", "HS256"])
def test_lifetime_is_capped(
    pinned_verifier: Verifier,
    make_token: Any,
    alg: str,
    claims: dict[str, int | None],
    reason: str | None,
) -> None:
    now = int(time.time())
    token = make_token(alg, **{k: None if v is None else now + v for k, v in claims.items()})
    if reason is None:
        assert pinned_verifier.verify(token).user_id == "user-1"
    else:
        assert refusal(pinned_verifier, token).reason == reason


def test_the_lifetime_ceiling_is_configurable(settings: Any, make_token: Any) -> None:
    token = make_token(exp=int(time.time()) + 7200)
    assert get_verifier().verify(token).user_id == "user-1"
    settings.BETTER_AUTH_MAX_LIFETIME_SECONDS = 3600
    assert refusal(get_verifier(), token).reason == "too_long_lived"


# Who refuses a time claim that is no JSON number, and why (with the locked PyJWT): its int()
# refuses infinities, NaN and lists (exp, nbf: DecodeError, "malformed"; iat:
# InvalidIssuedAtError, "bad_time"); what int() takes, a numeric string or True, check_lifetime
# refuses ("bad_time"), except True as exp, which PyJWT reads as 1: long expired.
NOT_NUMBERS = {
    "numeric-string": ("bad_time", "bad_time", "bad_time"),
    "bool": ("expired", "bad_time", "bad_time"),
    "infinity": ("malformed", "bad_time", "malformed"),
    "minus-infinity": ("malformed", "bad_time", "malformed"),
    "nan": ("malformed", "bad_time", "malformed"),
    "list": ("malformed", "bad_time", "malformed"),
}  # name: reason for (exp, iat, nbf)
VALUES = {
    "bool": True,
    "infinity": float("inf"),
    "minus-infinity": float("-inf"),
    "nan": float("nan"),
    "list": [1],
}


def not_a_number(name: str, claim: str) -> Any:
    if name == "numeric-string":  # a time that would pass as a number
        now = int(time.time())
        return str(now + 60 if claim == "exp" else now - 60)
    return VALUES[name]


@pytest.mark.parametrize(
    ("claim", "name", "reason"),
    [
        pytest.param(claim, name, reasons[index], id=f"{claim}-{name}")
        for name, reasons in NOT_NUMBERS.items()
        for index, claim in enumerate(("exp", "iat", "nbf"))
    ],
)
def test_time_claims_must_be_json_numbers(
    pinned_verifier: Verifier, make_token: Any, claim: str, name: str, reason: str
) -> None:
    token = make_token(**{claim: not_a_number(name, claim)})
    assert refusal(pinned_verifier, token).reason == reason  # a 401, never another exception


def test_a_bare_type_error_from_pyjwt_is_a_refusal(
    pinned_verifier: Verifier, make_token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyJWT 2.10 (the oldest release supported) read exp with a bare int(): a list raised
    TypeError, also for a token read unverified before any key lookup. The package tests run
    that release for real (tests/package, the "oldest" rows); this pins our side on any."""

    def validate_exp_like_2_10(self: Any, payload: dict[str, Any], *args: Any) -> None:
        int(payload["exp"])

    monkeypatch.setattr(jwt.api_jwt.PyJWT, "_validate_exp", validate_exp_like_2_10)
    assert refusal(pinned_verifier, make_token(exp=[1])).reason == "bad_time"
    eddsa = make_token("EdDSA", key=ed25519.Ed25519PrivateKey.generate(), kid="test-eddsa", exp=[1])
    assert refusal(pinned_verifier, eddsa).reason == "bad_time"


def test_fractional_time_claims_are_numbers_too(pinned_verifier: Verifier, make_token: Any) -> None:
    now = time.time()
    token = make_token(iat=now - 0.5, nbf=now - 0.5, exp=now + 60.5)
    assert pinned_verifier.verify(token).user_id == "user-1"


# --- alg "Ed25519" (RFC 9864), real keys (item 10) ----------------------------------------------


@pytest.mark.parametrize("jwk_alg", ["EdDSA", "Ed25519"])
@pytest.mark.parametrize("token_alg", ["EdDSA", "Ed25519"])
def test_ed25519_tokens_verify_with_either_jwk_name(
    keys: TestKeys, make_token: Any, jwk_alg: str, token_alg: str
) -> None:
    jwks = {"keys": [{**keys.public_jwk("EdDSA"), "alg": jwk_alg}]}
    verifier = make_verifier(jwks=PinnedJwks(parse_jwks(jwks)))
    token = make_token(token_alg, key=keys.ed25519, kid="test-eddsa")
    assert jwt.get_unverified_header(token)["alg"] == token_alg
    assert verifier.verify(token).user_id == "user-1"


def test_ed25519_with_another_keys_signature_is_refused(
    pinned_verifier: Verifier, make_token: Any
) -> None:
    stranger = ed25519.Ed25519PrivateKey.generate()
    token = make_token("Ed25519", key=stranger, kid="test-eddsa")
    assert refusal(pinned_verifier, token).reason == "bad_signature"


@pytest.mark.parametrize("kid", ["test-es256", "test-rs256", "test-ps256"])
def test_ed25519_naming_a_non_ed25519_key_is_a_mismatch(
    pinned_verifier: Verifier, make_token: Any, keys: TestKeys, kid: str
) -> None:
    token = make_token("Ed25519", key=keys.ed25519, kid=kid)
    assert refusal(pinned_verifier, token).reason == "key_mismatch"


def test_ed25519_signing_refuses_an_ed448_key() -> None:
    with pytest.raises(jwt.exceptions.InvalidKeyError):
        jwt.encode({"sub": "x"}, ed448.Ed448PrivateKey.generate(), algorithm="Ed25519")


def test_pinned_jwks_with_the_new_name_verifies_through_settings(
    settings: Any, keys: TestKeys, make_token: Any
) -> None:
    settings.BETTER_AUTH_JWKS = json.dumps(
        {"keys": [{**keys.public_jwk("EdDSA"), "alg": "Ed25519"}]}
    )
    token = make_token("Ed25519", key=keys.ed25519, kid="test-eddsa")
    assert get_verifier().verify(token).user_id == "user-1"
