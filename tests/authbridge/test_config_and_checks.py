"""AuthConfig from settings, the reset on setting changes, and the system checks."""

import io
import json
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from authbridge.checks import check_auth_configuration
from authbridge.config import AuthConfig, get_config, get_verifier, parse_secret_list
from tests.conftest import TEST_ISSUER, TEST_SECRET


@pytest.mark.parametrize(
    ("raw", "secrets"),
    [
        ("", ()),
        ("1:abc", ("abc",)),
        ("2:new,1:old", ("new", "old")),
        (" 2:new , 1:old ,", ("new", "old")),
        ("3:with:colons", ("with:colons",)),
    ],
)
def test_parse_secret_list(raw: str, secrets: tuple[str, ...]) -> None:
    assert parse_secret_list(raw) == secrets


@pytest.mark.parametrize("raw", ["nocolon", ":secret", "1:", "1:a,broken"])
def test_parse_secret_list_refuses_malformed_lists(raw: str) -> None:
    with pytest.raises(ValueError, match="version:secret"):
        parse_secret_list(raw)


def test_base_url_gives_jwks_url_issuer_and_audience(settings: Any) -> None:
    settings.BETTER_AUTH_URL = "https://app.example.com/"
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    config = get_config()
    assert config.jwks_url == "https://app.example.com/api/auth/jwks"
    assert config.issuer == "https://app.example.com"
    assert config.audiences == ("https://app.example.com",)


def test_explicit_values_override_the_base_url(settings: Any) -> None:
    settings.BETTER_AUTH_URL = "https://app.example.com"
    settings.BETTER_AUTH_JWKS_URL = "https://keys.example.com/jwks"
    settings.BETTER_AUTH_ISSUER = "https://issuer.example.com"
    settings.BETTER_AUTH_AUDIENCE = ["a", "b"]
    settings.BETTER_AUTH_SECRETS = f"2:{'n' * 40},1:{TEST_SECRET}"
    config = AuthConfig.from_settings(settings)
    assert config.jwks_url == "https://keys.example.com/jwks"
    assert (config.issuer, config.audiences) == ("https://issuer.example.com", ("a", "b"))
    assert config.secrets == (TEST_SECRET, "n" * 40)  # BETTER_AUTH_SECRET first, no duplicate


def test_verifier_is_rebuilt_when_an_auth_setting_changes(settings: Any) -> None:
    first = get_verifier()
    assert get_verifier() is first
    settings.JWT_LEEWAY_SECONDS = 99
    assert get_verifier() is not first
    assert get_config().leeway_seconds == 99


# --- system checks -----------------------------------------------------------------------------


def check_ids() -> list[str]:
    return [message.id for message in check_auth_configuration()]


def test_test_configuration_passes_the_checks() -> None:
    assert check_ids() == []


def test_no_key_source_is_an_error_naming_the_variables(settings: Any) -> None:
    for name in (
        "BETTER_AUTH_URL",
        "BETTER_AUTH_JWKS_URL",
        "BETTER_AUTH_JWKS",
        "BETTER_AUTH_SECRET",
    ):
        setattr(settings, name, "")
    messages = check_auth_configuration()
    assert [m.id for m in messages] == ["authbridge.E001"]
    for name in (
        "BETTER_AUTH_URL",
        "BETTER_AUTH_JWKS_URL",
        "BETTER_AUTH_JWKS",
        "BETTER_AUTH_SECRET",
    ):
        assert name in (messages[0].hint or "")


@pytest.mark.parametrize("source", ["BETTER_AUTH_URL", "BETTER_AUTH_JWKS_URL"])
def test_a_url_alone_is_a_key_source(settings: Any, source: str) -> None:
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_SECRET = ""
    setattr(settings, source, "https://app.example.com")
    assert check_ids() == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BETTER_AUTH_SECRET", "s" * 31), ("BETTER_AUTH_SECRETS", "2:" + "s" * 31)],
)
def test_short_secret_is_an_error_outside_debug_only(
    settings: Any, variable: str, value: str
) -> None:
    setattr(settings, variable, value)
    settings.DEBUG = False
    assert check_ids() == ["authbridge.E002"]
    settings.DEBUG = True
    assert check_ids() == []


def test_malformed_secret_list_is_an_error(settings: Any) -> None:
    settings.BETTER_AUTH_SECRETS = "just-a-secret-without-version"
    assert check_ids() == ["authbridge.E003"]


@pytest.mark.parametrize(
    "jwks",
    ["not json", json.dumps({"keys": []}), json.dumps([1]), json.dumps({"keys": [{"kty": "oct"}]})],
)
def test_unusable_pinned_jwks_is_an_error(settings: Any, jwks: str) -> None:
    settings.BETTER_AUTH_JWKS = jwks
    assert check_ids() == ["authbridge.E004"]


@pytest.mark.parametrize("url", ["app.example.com", "ftp://app.example.com", "http://"])
def test_url_must_be_http(settings: Any, url: str) -> None:
    settings.BETTER_AUTH_URL = url
    assert check_ids() == ["authbridge.E005"]


# --- mint_token --------------------------------------------------------------------------------


def mint(*args: str) -> str:
    out = io.StringIO()
    call_command("mint_token", *args, stdout=out)
    return out.getvalue()


def test_minted_token_verifies_as_the_user(settings: Any) -> None:
    token = mint("ann", "--email", "ann@example.com", "--name", "Ann", "--minutes", "5").strip()
    identity = get_verifier().verify(token)
    assert (identity.user_id, identity.email, identity.name) == ("ann", "ann@example.com", "Ann")
    assert identity.claims["exp"] - identity.claims["iat"] == 300
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert identity.claims["iss"] == identity.claims["aud"] == TEST_ISSUER


def test_mint_token_refuses_without_a_secret(settings: Any) -> None:
    settings.BETTER_AUTH_SECRET = ""
    with pytest.raises(CommandError, match="BETTER_AUTH_SECRET"):
        mint("ann")


def test_mint_token_curl_output_is_ready_to_paste() -> None:
    output = mint("ann", "--curl", "--port", "9001")
    token = next(line for line in output.splitlines() if "export TOKEN=" in line).split("=", 1)[1]
    assert get_verifier().verify(token).user_id == "ann"
    assert 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9001/api/me' in output
