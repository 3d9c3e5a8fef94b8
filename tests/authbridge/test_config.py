"""parse_secret_list, url_origin, jwks_url_of, AuthConfig.from_settings, key_source() and the
reset of get_verifier()."""

import json
from types import SimpleNamespace
from typing import Any

import pytest

from authbridge.config import (
    AuthConfig,
    get_config,
    get_verifier,
    jwks_url_of,
    parse_secret_list,
    url_origin,
)
from authbridge.errors import InvalidToken
from authbridge.jwks import FetchedJwks
from authbridge.keys import PinnedJwks
from tests.conftest import TEST_ISSUER, TEST_SECRET

BASE = "https://app.example.com"


@pytest.mark.parametrize(
    ("raw", "secrets"),
    [
        pytest.param("", (), id="empty"),
        pytest.param("1:abc", ("abc",), id="one"),
        pytest.param("2:new,1:old", ("new", "old"), id="two-in-order"),
        pytest.param(" 2:new , 1:old ,", ("new", "old"), id="spaces-and-trailing-comma"),
        pytest.param("3:with:colons", ("with:colons",), id="colon-in-secret"),
        pytest.param("v2:x", ("x",), id="non-numeric-version"),
    ],
)
def test_parse_secret_list(raw: str, secrets: tuple[str, ...]) -> None:
    assert parse_secret_list(raw) == secrets


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("nocolon", id="no-version"),
        pytest.param(":secret", id="empty-version"),
        pytest.param(" :secret", id="blank-version"),
        pytest.param("1:", id="empty-secret"),
        pytest.param("1:a,broken", id="one-bad-entry"),
    ],
)
def test_parse_secret_list_refuses_malformed_lists(raw: str) -> None:
    with pytest.raises(ValueError, match="version:secret"):
        parse_secret_list(raw)


def source(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "BETTER_AUTH_URL": "",
        "BETTER_AUTH_JWKS_URL": "",
        "BETTER_AUTH_JWKS": "",
        "BETTER_AUTH_SECRET": "",
        "BETTER_AUTH_SECRETS": "",
        "BETTER_AUTH_ISSUER": "",
        "BETTER_AUTH_AUDIENCE": [],
        "BETTER_AUTH_LEEWAY_SECONDS": 10,
        "BETTER_AUTH_JWKS_CACHE_SECONDS": 300.0,
        "BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS": 30.0,
        "BETTER_AUTH_JWKS_TIMEOUT_SECONDS": 3.0,
        "BETTER_AUTH_MAX_LIFETIME_SECONDS": 86_400,
        "BETTER_AUTH_JWKS_CACHE_ALIAS": "default",
        "BETTER_AUTH_JWKS_PROXY_URL": "",
        "BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS": 300.0,
    }
    return SimpleNamespace(**{**values, **overrides})


def test_nothing_configured_expects_nothing() -> None:
    config = AuthConfig.from_settings(source())
    assert (config.jwks_url, config.issuer, config.audiences, config.secrets) == ("", "", (), ())
    assert config.key_source() is None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        pytest.param(BASE + "/auth", BASE, id="path"),
        pytest.param("HTTPS://App.Example.COM/", BASE, id="case"),
        pytest.param("https://app.example.com:443/auth", BASE, id="https-default-port"),
        pytest.param("http://127.0.0.1:80/auth", "http://127.0.0.1", id="http-default-port"),
        pytest.param("http://127.0.0.1:8080/a", "http://127.0.0.1:8080", id="other-port"),
        pytest.param("https://ba:pw@app.example.com/auth", BASE, id="user-info"),
        pytest.param("http://[::1]:3000/api/auth?x=1", "http://[::1]:3000", id="ipv6-query"),
    ],
)
def test_url_origin_is_what_better_auth_puts_in_iss_and_aud(url: str, origin: str) -> None:
    assert url_origin(url) == origin


@pytest.mark.parametrize(
    ("url", "jwks_url"),
    [
        pytest.param(BASE, BASE + "/api/auth/jwks", id="no-path"),
        pytest.param(BASE + "/", BASE + "/api/auth/jwks", id="root-path"),
        pytest.param(BASE + "/auth", BASE + "/auth/jwks", id="auth"),
        pytest.param(BASE + "/auth/", BASE + "/auth/jwks", id="auth-trailing-slash"),
        pytest.param(BASE + "/api/auth", BASE + "/api/auth/jwks", id="api-auth"),
        pytest.param(BASE + "/api/auth/", BASE + "/api/auth/jwks", id="api-auth-trailing-slash"),
        pytest.param(BASE + "/auth?x=1#top", BASE + "/auth/jwks", id="query-and-fragment"),
        pytest.param("http://ba:3000", "http://ba:3000/api/auth/jwks", id="internal-host"),
    ],
)
def test_jwks_url_is_under_the_base_urls_own_path_else_api_auth(url: str, jwks_url: str) -> None:
    assert jwks_url_of(url) == jwks_url


@pytest.mark.parametrize(
    ("url", "jwks_url"),
    [
        pytest.param(BASE, BASE + "/api/auth/jwks", id="plain"),
        pytest.param(BASE + "/", BASE + "/api/auth/jwks", id="trailing-slash"),
        pytest.param(BASE + "/auth", BASE + "/auth/jwks", id="auth"),
        pytest.param(BASE + "/auth/", BASE + "/auth/jwks", id="auth-trailing-slash"),
        pytest.param(BASE + "/api/auth", BASE + "/api/auth/jwks", id="api-auth"),
    ],
)
def test_base_url_gives_jwks_url_issuer_and_audience(url: str, jwks_url: str) -> None:
    """Better Auth signs with its base URL's origin whatever path it is mounted under."""
    config = AuthConfig.from_settings(source(BETTER_AUTH_URL=url))
    assert config.jwks_url == jwks_url
    assert config.issuer == BASE
    assert config.audiences == (BASE,)
    fetched = config.key_source()
    assert isinstance(fetched, FetchedJwks)
    assert fetched.url == jwks_url


def test_explicit_values_override_the_base_url() -> None:
    config = AuthConfig.from_settings(
        source(
            BETTER_AUTH_URL=BASE,
            BETTER_AUTH_JWKS_URL="https://keys.example.com/jwks",
            BETTER_AUTH_ISSUER="https://issuer.example.com",
            BETTER_AUTH_AUDIENCE=["a", "b"],
            BETTER_AUTH_LEEWAY_SECONDS=3,
            BETTER_AUTH_JWKS_CACHE_SECONDS=60.0,
            BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS=5.0,
            BETTER_AUTH_JWKS_TIMEOUT_SECONDS=0.5,
        )
    )
    assert config.jwks_url == "https://keys.example.com/jwks"
    assert (config.issuer, config.audiences) == ("https://issuer.example.com", ("a", "b"))
    assert (config.leeway_seconds, config.cache_seconds) == (3, 60.0)
    assert (config.cooldown_seconds, config.timeout_seconds) == (5.0, 0.5)


def test_an_internal_jwks_url_keeps_the_public_issuer_and_audience() -> None:
    """Containers: the JWKS is fetched from Better Auth's internal address, iss stays public."""
    internal = "http://better-auth:3000/auth/jwks"
    config = AuthConfig.from_settings(
        source(BETTER_AUTH_URL=BASE + "/auth", BETTER_AUTH_JWKS_URL=internal)
    )
    assert (config.jwks_url, config.issuer, config.audiences) == (internal, BASE, (BASE,))


def test_an_explicit_issuer_keeps_the_derived_jwks_url() -> None:
    config = AuthConfig.from_settings(
        source(BETTER_AUTH_URL=BASE + "/auth", BETTER_AUTH_ISSUER="https://issuer.example.com")
    )
    assert (config.jwks_url, config.issuer) == (BASE + "/auth/jwks", "https://issuer.example.com")
    assert config.audiences == (BASE,)


def test_secret_comes_first_and_the_list_adds_the_others_once() -> None:
    config = AuthConfig.from_settings(
        source(BETTER_AUTH_SECRET="s" * 40, BETTER_AUTH_SECRETS=f"3:{'n' * 40},2:{'s' * 40},1:o")
    )
    assert config.secrets == ("s" * 40, "n" * 40, "o")


def test_pinned_jwks_wins_over_fetching(keys: Any) -> None:
    config = AuthConfig.from_settings(
        source(BETTER_AUTH_URL=BASE, BETTER_AUTH_JWKS=json.dumps(keys.jwks(("EdDSA",))))
    )
    pinned = config.key_source()
    assert isinstance(pinned, PinnedJwks)
    assert pinned.key_for(kid="test-eddsa", alg="EdDSA").kid == "test-eddsa"


def test_django_settings_are_the_default_source(settings: Any) -> None:
    settings.BETTER_AUTH_URL = BASE + "/"
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    config = get_config()
    assert (config.jwks_url, config.issuer, config.audiences) == (
        BASE + "/api/auth/jwks",
        BASE,
        (BASE,),
    )
    assert config.secrets == (TEST_SECRET,)


# --- get_verifier: built once, rebuilt when an auth setting changes --------------------------


def test_verifier_is_built_once(settings: Any) -> None:
    assert get_verifier() is get_verifier()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BETTER_AUTH_URL", BASE),
        ("BETTER_AUTH_SECRET", "x" * 40),
        ("BETTER_AUTH_AUDIENCE", ["other"]),
        ("BETTER_AUTH_LEEWAY_SECONDS", 99),
        ("BETTER_AUTH_JWKS_CACHE_SECONDS", 1.0),
    ],
)
def test_verifier_is_rebuilt_when_an_auth_setting_changes(
    settings: Any, name: str, value: Any
) -> None:
    first, first_config = get_verifier(), get_config()
    setattr(settings, name, value)
    assert get_verifier() is not first
    assert get_config() is not first_config


def test_verifier_rebuilt_after_a_change_uses_the_new_value(settings: Any, make_token: Any) -> None:
    token = make_token("HS256", iss="https://new.example")
    with pytest.raises(InvalidToken, match="issued by someone else"):
        get_verifier().verify(token)
    settings.BETTER_AUTH_ISSUER = "https://new.example"
    assert get_verifier().verify(token).user_id == "user-1"


def test_unrelated_settings_keep_the_verifier_and_its_cache(settings: Any) -> None:
    first = get_verifier()
    settings.TIME_ZONE = "Europe/Paris"
    assert get_verifier() is first


def test_test_settings_expect_the_test_issuer() -> None:
    config = get_config()
    assert (config.issuer, config.audiences) == (TEST_ISSUER, (TEST_ISSUER,))
