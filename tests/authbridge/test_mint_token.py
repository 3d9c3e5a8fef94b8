"""manage.py mint_token (CONTRACT §7): a dev HS256 token that the API itself accepts."""

import io
from typing import Any

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from authbridge.config import get_verifier
from tests.conftest import TEST_ISSUER


@pytest.fixture(autouse=True)
def debug(settings: Any) -> None:
    settings.DEBUG = True  # mint_token is a development aid (see the tests at the end)


def mint(*args: str) -> str:
    out = io.StringIO()
    call_command("mint_token", *args, stdout=out)
    return out.getvalue()


def test_minted_token_verifies_as_the_user() -> None:
    token = mint("ann", "--email", "ann@example.com", "--name", "Ann", "--minutes", "5").strip()
    identity = get_verifier().verify(token)
    assert (identity.user_id, identity.email, identity.name) == ("ann", "ann@example.com", "Ann")
    assert identity.claims["exp"] - identity.claims["iat"] == 300
    assert identity.claims["iss"] == identity.claims["aud"] == TEST_ISSUER
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_default_lifetime_is_15_minutes_without_email_or_name() -> None:
    identity = get_verifier().verify(mint("ann").strip())
    assert identity.claims["exp"] - identity.claims["iat"] == 900
    assert (identity.email, identity.name) == (None, None)


def test_minted_token_works_on_the_api(client: Any) -> None:
    token = mint("ann").strip()
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["id"] == "ann"


def test_signs_with_the_newest_listed_secret_when_no_single_secret(settings: Any) -> None:
    settings.BETTER_AUTH_SECRET = ""
    settings.BETTER_AUTH_SECRETS = f"2:{'n' * 40},1:{'o' * 40}"
    token = mint("ann").strip()
    assert jwt.decode(token, "n" * 40, algorithms=["HS256"], options={"verify_aud": False})
    assert get_verifier().verify(token).user_id == "ann"


def test_without_an_expected_issuer_the_token_has_none(settings: Any) -> None:
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    claims = get_verifier().verify(mint("ann").strip()).claims
    assert "iss" not in claims
    assert "aud" not in claims


@pytest.mark.parametrize("path", ["/auth", "/api/auth/"])
def test_issuer_and_audience_are_the_base_urls_origin_like_better_auths(
    settings: Any, path: str
) -> None:
    """One expected iss/aud fits both kinds of token: Better Auth signs with the origin."""
    settings.BETTER_AUTH_URL = TEST_ISSUER + path
    settings.BETTER_AUTH_ISSUER = ""
    settings.BETTER_AUTH_AUDIENCE = []
    claims = get_verifier().verify(mint("ann").strip()).claims
    assert claims["iss"] == claims["aud"] == TEST_ISSUER


def test_refuses_without_a_secret(settings: Any) -> None:
    settings.BETTER_AUTH_SECRET = ""
    with pytest.raises(CommandError, match="BETTER_AUTH_SECRET"):
        mint("ann")


@pytest.mark.parametrize("args", [("", "--minutes", "5"), ("ann", "--minutes", "0")])
def test_refuses_an_empty_user_or_no_lifetime(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="USER_ID"):
        mint(*args)


def test_curl_output_is_ready_to_paste() -> None:
    output = mint("ann", "--curl", "--port", "9001")
    token = next(line for line in output.splitlines() if "export TOKEN=" in line).split("=", 1)[1]
    assert get_verifier().verify(token).user_id == "ann"
    assert 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9001/api/me' in output
    assert 'curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9001/api/ann/tasks' in output
    assert "http://127.0.0.1:9001/api/docs" in output


# --- outside debug, and the lifetime ceiling (issue 10, item 12) ------------------------------


def test_refuses_outside_debug_unless_told_explicitly(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--outside-debug"):
        mint("ann")
    token = mint("ann", "--outside-debug").strip()
    assert get_verifier().verify(token).user_id == "ann"


@pytest.mark.parametrize("outside_debug", [False, True])
def test_lifetime_is_capped_at_the_max_the_api_accepts(settings: Any, outside_debug: bool) -> None:
    settings.DEBUG = not outside_debug
    flags = ["--outside-debug"] if outside_debug else []
    with pytest.raises(CommandError, match="BETTER_AUTH_MAX_LIFETIME_SECONDS"):
        mint("ann", "--minutes", str(10_000_000), *flags)  # the 19 years once printed
    token = mint("ann", "--minutes", "1440", *flags).strip()
    claims = get_verifier().verify(token).claims
    assert claims["exp"] - claims["iat"] == 86_400
    settings.BETTER_AUTH_MAX_LIFETIME_SECONDS = 600
    with pytest.raises(CommandError, match="BETTER_AUTH_MAX_LIFETIME_SECONDS"):
        mint("ann", "--minutes", "11", *flags)
