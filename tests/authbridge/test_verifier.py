"""Verifier rules of CONTRACT §2, one passing and one failing case each, without HTTP."""

import time
from typing import Any

import pytest

from authbridge.config import get_verifier
from authbridge.errors import InvalidToken
from authbridge.verify import MAX_TOKEN_BYTES, Identity, check_issuer_and_audience
from tests.conftest import ASYMMETRIC_ALGS, HMAC_ALGS, TEST_ISSUER, TEST_SECRET

ALL_ALGS = ASYMMETRIC_ALGS + HMAC_ALGS


def refusal(token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        get_verifier().verify(token)
    return refused.value.reason


@pytest.mark.parametrize("alg", ALL_ALGS)
def test_every_supported_algorithm_verifies(make_token: Any, alg: str) -> None:
    identity = get_verifier().verify(make_token(alg, sub="ann", email="a@x.io", name="Ann"))
    assert identity == Identity(user_id="ann", email="a@x.io", name="Ann", claims=identity.claims)
    assert identity.claims["iss"] == TEST_ISSUER


def test_identity_is_immutable(make_token: Any) -> None:
    identity = get_verifier().verify(make_token())
    with pytest.raises(AttributeError):
        identity.user_id = "someone-else"  # type: ignore[misc]
    with pytest.raises(TypeError):
        identity.claims["sub"] = "someone-else"  # type: ignore[index]


# --- sub ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param(42, id="not-a-string"),
        pytest.param("u" * 256, id="256-chars"),
    ],
)
def test_bad_sub_is_refused(make_token: Any, sub: Any) -> None:
    assert refusal(make_token("HS256", sub=sub)) in {"bad_sub", "missing_claim", "invalid"}


def test_sub_of_255_chars_is_accepted(make_token: Any) -> None:
    assert get_verifier().verify(make_token(sub="u" * 255)).user_id == "u" * 255


# --- exp / nbf / iat and the leeway (10 s) -------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        pytest.param({"exp": -5}, True, id="expired-within-leeway"),
        pytest.param({"exp": -30}, False, id="expired-beyond-leeway"),
        pytest.param({"nbf": 5}, True, id="nbf-within-leeway"),
        pytest.param({"nbf": 30}, False, id="nbf-beyond-leeway"),
        pytest.param({"iat": 5}, True, id="iat-within-leeway"),
        pytest.param({"iat": 60}, False, id="iat-in-the-future"),
    ],
)
def test_time_claims_honour_the_leeway(
    make_token: Any, claims: dict[str, int], accepted: bool
) -> None:
    now = int(time.time())
    token = make_token(**{name: now + offset for name, offset in claims.items()})
    if accepted:
        assert get_verifier().verify(token).user_id == "user-1"
    else:
        assert refusal(token) in {"expired", "immature", "invalid"}


def test_leeway_setting_is_used(make_token: Any, settings: Any) -> None:
    token = make_token(exp=int(time.time()) - 30)
    assert refusal(token) == "expired"
    settings.JWT_LEEWAY_SECONDS = 60
    assert get_verifier().verify(token).user_id == "user-1"


def test_exp_is_required(make_token: Any) -> None:
    assert refusal(make_token(exp=None)) == "missing_claim"


# --- iss / aud -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        pytest.param({}, True, id="both-match"),
        pytest.param({"iss": TEST_ISSUER + "/"}, True, id="iss-trailing-slash"),
        pytest.param({"aud": TEST_ISSUER + "/"}, True, id="aud-trailing-slash"),
        pytest.param({"aud": ["other", TEST_ISSUER]}, True, id="aud-list-containing-ours"),
        pytest.param({"iss": "https://evil.example"}, False, id="wrong-iss"),
        pytest.param({"iss": None}, False, id="missing-iss"),
        pytest.param({"aud": "https://other.example"}, False, id="wrong-aud"),
        pytest.param({"aud": ["a", "b"]}, False, id="aud-list-without-ours"),
        pytest.param({"aud": None}, False, id="missing-aud"),
    ],
)
def test_issuer_and_audience(make_token: Any, claims: dict[str, Any], accepted: bool) -> None:
    token = make_token(**claims)
    if accepted:
        assert get_verifier().verify(token).user_id == "user-1"
    else:
        assert refusal(token) in {"bad_issuer", "bad_audience"}


def test_expected_values_with_trailing_slash_match(make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_ISSUER = TEST_ISSUER + "/"
    settings.BETTER_AUTH_AUDIENCE = ["api", TEST_ISSUER + "/"]
    assert get_verifier().verify(make_token()).user_id == "user-1"


def test_nothing_is_checked_when_nothing_is_expected(make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    token = make_token(iss="https://anyone.example", aud="anything")
    assert get_verifier().verify(token).user_id == "user-1"


@pytest.mark.parametrize(
    ("claims", "ok"),
    [
        ({"iss": "https://a.example", "aud": "x"}, True),
        ({"iss": "https://a.example", "aud": 7}, False),
        ({"iss": 7, "aud": "x"}, False),
    ],
)
def test_check_issuer_and_audience_types(claims: dict[str, Any], ok: bool) -> None:
    def check() -> None:
        check_issuer_and_audience(claims, issuer="https://a.example/", audiences=("x",))

    if ok:
        check()
    else:
        with pytest.raises(InvalidToken):
            check()


# --- secrets and sources -------------------------------------------------------------------


def test_secret_rotation_accepts_every_listed_secret(make_token: Any, settings: Any) -> None:
    old, new = "o" * 40, "n" * 40
    settings.BETTER_AUTH_SECRET = ""
    settings.BETTER_AUTH_SECRETS = f"2:{new},1:{old}"
    for secret in (old, new):
        assert get_verifier().verify(make_token("HS256", key=secret)).user_id == "user-1"
    assert refusal(make_token("HS256", key="x" * 40)) == "bad_signature"
    settings.BETTER_AUTH_SECRET = TEST_SECRET  # the single secret joins the list
    assert get_verifier().verify(make_token("HS256")).user_id == "user-1"


def test_expired_token_with_an_old_secret_reports_expiry(make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_SECRETS = "2:" + "n" * 40
    token = make_token("HS256", exp=int(time.time()) - 60)  # signed with TEST_SECRET
    assert refusal(token) == "expired"


def test_hmac_token_without_any_secret_is_refused(make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_SECRET = ""
    assert refusal(make_token("HS256")) == "no_secret"


def test_asymmetric_token_without_any_jwks_is_refused(make_token: Any, settings: Any) -> None:
    settings.BETTER_AUTH_JWKS = ""
    assert refusal(make_token("EdDSA")) == "no_jwks"


def test_token_over_8_kib_is_refused_before_parsing(make_token: Any) -> None:
    token = make_token(padding="x" * MAX_TOKEN_BYTES)
    assert refusal(token) == "too_long"
    assert refusal("!" * (MAX_TOKEN_BYTES + 1)) == "too_long"  # not even a JWT: never parsed
