"""System checks authbridge.E001-E007 and W001-W003 (CONTRACT §3): bad auth configuration
stops it; check --deploy warns about how the keys are fetched and where they are kept."""

import dataclasses
import json
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from authbridge.checks import check_auth_configuration, check_jwks_cache, check_jwks_transport
from authbridge.config import AuthConfig

KEY_SOURCES = (
    "BETTER_AUTH_URL",
    "BETTER_AUTH_JWKS_URL",
    "BETTER_AUTH_JWKS",
    "BETTER_AUTH_SECRET",
    "BETTER_AUTH_SECRETS",
)


def check_ids() -> list[str]:
    return [message.id or "" for message in check_auth_configuration()]


@pytest.fixture
def no_key_source(settings: Any) -> Any:
    for name in KEY_SOURCES:
        setattr(settings, name, "")
    return settings


def test_test_configuration_passes_the_checks() -> None:
    assert check_ids() == []


def test_no_key_source_is_e001_naming_every_variable(no_key_source: Any) -> None:
    messages = check_auth_configuration()
    assert [m.id for m in messages] == ["authbridge.E001"]
    assert all(name in (messages[0].hint or "") for name in KEY_SOURCES)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BETTER_AUTH_URL", "https://app.example.com"),
        ("BETTER_AUTH_JWKS_URL", "https://app.example.com/keys"),
        ("BETTER_AUTH_SECRET", "s" * 32),
        ("BETTER_AUTH_SECRETS", "1:" + "s" * 32),
    ],
)
def test_any_one_key_source_is_enough(no_key_source: Any, name: str, value: str) -> None:
    setattr(no_key_source, name, value)
    assert check_ids() == []


def test_a_pinned_jwks_alone_is_enough(no_key_source: Any, keys: Any) -> None:
    no_key_source.BETTER_AUTH_JWKS = json.dumps(keys.jwks(("EdDSA",)))
    assert check_ids() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("BETTER_AUTH_SECRET", "s" * 31, id="secret"),
        pytest.param("BETTER_AUTH_SECRETS", "2:" + "s" * 31, id="secrets-list"),
        pytest.param("BETTER_AUTH_SECRETS", f"2:{'s' * 40},1:short", id="one-short-in-list"),
    ],
)
def test_short_secret_is_e002_outside_debug_only(settings: Any, name: str, value: str) -> None:
    setattr(settings, name, value)
    settings.DEBUG = False
    assert check_ids() == ["authbridge.E002"]
    settings.DEBUG = True
    assert check_ids() == []


def test_a_32_character_secret_is_long_enough(settings: Any) -> None:
    settings.DEBUG = False
    settings.BETTER_AUTH_SECRET = "s" * 32
    assert check_ids() == []


@pytest.mark.parametrize(
    "value", ["just-a-secret", "1:ok-secret-long-enough-0123456789ab,bad", "1:"]
)
def test_malformed_secret_list_is_e003(settings: Any, value: str) -> None:
    settings.BETTER_AUTH_SECRETS = value
    messages = check_auth_configuration()
    assert [m.id for m in messages] == ["authbridge.E003"]
    assert "version:secret" in (messages[0].hint or "")


def test_malformed_list_as_the_only_source_reports_both_problems(no_key_source: Any) -> None:
    no_key_source.BETTER_AUTH_SECRETS = "no-version-here"
    assert check_ids() == ["authbridge.E003", "authbridge.E001"]


@pytest.mark.parametrize(
    "jwks",
    [
        pytest.param("not json", id="not-json"),
        pytest.param(json.dumps({"keys": []}), id="no-keys"),
        pytest.param(json.dumps([1]), id="not-an-object"),
        pytest.param(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), id="only-hmac"),
    ],
)
def test_unusable_pinned_jwks_is_e004(settings: Any, jwks: str) -> None:
    settings.BETTER_AUTH_JWKS = jwks
    assert check_ids() == ["authbridge.E004"]


@pytest.mark.parametrize("name", ["BETTER_AUTH_URL", "BETTER_AUTH_JWKS_URL"])
@pytest.mark.parametrize(
    "url", ["app.example.com", "ftp://app.example.com", "http://", "file:///k"]
)
def test_url_that_is_not_http_is_e005(settings: Any, name: str, url: str) -> None:
    setattr(settings, name, url)
    messages = check_auth_configuration()
    assert [m.id for m in messages] == ["authbridge.E005"]
    assert name in messages[0].msg


def test_manage_py_check_refuses_the_configuration(no_key_source: Any) -> None:
    with pytest.raises(SystemCheckError, match=r"authbridge\.E001"):
        call_command("check")


# --- issue 10: expected issuer and audience, the JWKS cache alias, plain-http JWKS ------------


@pytest.mark.parametrize("source", ["BETTER_AUTH_JWKS_URL", "BETTER_AUTH_JWKS"])
@pytest.mark.parametrize(
    ("issuer", "audience"),
    [("", []), ("https://auth.example.com", []), ("", ["todo-api"])],
    ids=["neither", "no-audience", "no-issuer"],
)
def test_asymmetric_keys_without_expected_issuer_and_audience_is_e006(
    settings: Any, keys: Any, source: str, issuer: str, audience: list[str]
) -> None:
    settings.BETTER_AUTH_URL = settings.BETTER_AUTH_JWKS_URL = settings.BETTER_AUTH_JWKS = ""
    setattr(
        settings,
        source,
        json.dumps(keys.jwks()) if source == "BETTER_AUTH_JWKS" else "https://a.test/jwks",
    )
    settings.BETTER_AUTH_ISSUER, settings.BETTER_AUTH_AUDIENCE = issuer, audience
    messages = check_auth_configuration()
    assert [m.id for m in messages] == ["authbridge.E006"]
    assert "BETTER_AUTH_ISSUER" in (messages[0].hint or "")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"BETTER_AUTH_URL": "https://auth.example.com"}, id="derived-from-url"),
        pytest.param(
            {"BETTER_AUTH_ISSUER": "https://auth.example.com", "BETTER_AUTH_AUDIENCE": ["api"]},
            id="explicit",
        ),
        pytest.param({"BETTER_AUTH_JWKS": ""}, id="hmac-only"),
    ],
)
def test_e006_is_silent_when_issuer_and_audience_are_known(
    settings: Any, overrides: dict[str, Any]
) -> None:
    settings.BETTER_AUTH_ISSUER, settings.BETTER_AUTH_AUDIENCE = "", []
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert check_ids() == []


@pytest.mark.parametrize(
    ("caches", "alias"),
    [
        ({}, "missing"),
        ({"db": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}}, "db"),
    ],
    ids=["unknown-alias", "database-cache"],
)
def test_the_jwks_cache_alias_must_name_a_cache_other_than_the_database(
    settings: Any, caches: dict[str, Any], alias: str
) -> None:
    settings.CACHES = {**settings.CACHES, **caches}
    settings.BETTER_AUTH_JWKS_CACHE_ALIAS = alias
    assert check_ids() == ["authbridge.E007"]


def deploy_warnings() -> list[str]:
    return [m.id or "" for m in check_jwks_transport()]


@pytest.mark.parametrize(
    ("name", "url", "warned"),
    [
        ("BETTER_AUTH_URL", "http://auth.example.com", True),
        ("BETTER_AUTH_JWKS_URL", "http://10.0.0.5:3000/api/auth/jwks", True),
        ("BETTER_AUTH_URL", "https://auth.example.com", False),
        ("BETTER_AUTH_URL", "http://127.0.0.1:3000", False),
        ("BETTER_AUTH_URL", "http://localhost:3000", False),
        ("BETTER_AUTH_JWKS_URL", "http://[::1]:3000/jwks", False),
    ],
)
def test_deploy_check_warns_about_a_plain_http_jwks_off_this_host(
    settings: Any, name: str, url: str, warned: bool
) -> None:
    settings.BETTER_AUTH_JWKS = ""
    setattr(settings, name, url)
    assert deploy_warnings() == (["authbridge.W001"] if warned else [])


def test_pinned_keys_fetch_nothing_so_no_transport_warning(settings: Any) -> None:
    settings.BETTER_AUTH_URL = "http://auth.example.com"  # BETTER_AUTH_JWKS is pinned
    assert deploy_warnings() == []


def test_the_transport_warning_is_a_deploy_check_only(settings: Any) -> None:
    settings.BETTER_AUTH_JWKS, settings.BETTER_AUTH_URL = "", "http://auth.example.com"
    ids = [m.id for m in run_checks(include_deployment_checks=True)]
    assert "authbridge.W001" in ids
    assert "authbridge.W001" not in [m.id for m in run_checks()]


@pytest.mark.parametrize("proxy", ["https://proxy.test:3128", "proxy.test:3128", "http://"])
def test_a_jwks_proxy_must_be_an_http_url(settings: Any, proxy: str) -> None:
    settings.BETTER_AUTH_JWKS_PROXY_URL = proxy
    assert check_ids() == ["authbridge.E005"]
    settings.BETTER_AUTH_JWKS_PROXY_URL = "http://proxy.test:3128"
    assert check_ids() == []


def test_the_checks_judge_the_auth_config_the_app_runs_with(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever AuthConfig.from_settings derives (URL, issuer, audiences), the checks follow."""
    derive = AuthConfig.from_settings

    def from_settings(source: Any = None) -> AuthConfig:
        config = derive() if source is None else derive(source)
        return dataclasses.replace(
            config, jwks_url="http://keys.example.com/jwks", pinned_jwks="", issuer="", audiences=()
        )

    monkeypatch.setattr(AuthConfig, "from_settings", staticmethod(from_settings))
    settings.BETTER_AUTH_SECRETS = "malformed"  # reported, and no crash of the other checks
    assert check_ids() == ["authbridge.E003", "authbridge.E006"]
    assert deploy_warnings() == ["authbridge.W001"]


# --- issue 16: where the last good JWKS is kept (check --deploy) ----------------------------

REDIS = "edge.cache.FailOpenRedisCache"


def jwks_cache_warnings(settings: Any, cache: dict[str, Any]) -> list[str]:
    """check_jwks_cache's ids with the JWKS fetched from an https URL and kept in ``cache``."""
    settings.BETTER_AUTH_JWKS, settings.BETTER_AUTH_URL = "", "https://auth.example.com"
    settings.CACHES = {**settings.CACHES, "authbridge-test": cache}
    return [m.id or "" for m in check_jwks_cache()]


@pytest.mark.parametrize(
    ("backend", "debug", "warned"),
    [
        pytest.param("django.core.cache.backends.locmem.LocMemCache", False, True, id="locmem"),
        pytest.param("django.core.cache.backends.dummy.DummyCache", False, True, id="dummy"),
        pytest.param("django.core.cache.backends.locmem.LocMemCache", True, False, id="debug"),
        pytest.param(REDIS, False, False, id="redis"),
        pytest.param(
            "django.core.cache.backends.filebased.FileBasedCache", False, False, id="file"
        ),
    ],
)
def test_a_jwks_cache_of_one_process_is_w002_outside_debug(
    settings: Any, backend: str, debug: bool, warned: bool
) -> None:
    settings.DEBUG = debug
    cache = {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/0"}
    assert jwks_cache_warnings(settings, cache) == (["authbridge.W002"] if warned else [])


@pytest.mark.parametrize(
    ("location", "options", "warned"),
    [
        pytest.param("redis://10.0.0.5:6379/0", {}, True, id="private-ip"),
        pytest.param("rediss://cache.internal:6380/0", {}, True, id="tls-without-password"),
        pytest.param("redis://todo@cache.internal:6379/0", {}, True, id="user-without-password"),
        pytest.param("redis://:@cache.internal:6379/0", {}, True, id="empty-password"),
        pytest.param(
            "redis://:pw@10.0.0.5:6379/0,redis://10.0.0.6:6379/0", {}, True, id="comma-one-open"
        ),
        pytest.param(
            ["redis://127.0.0.1:6379/0", "redis://10.0.0.6:6379/0"], {}, True, id="list-one-open"
        ),
        pytest.param("redis://:pw@10.0.0.5:6379/0", {}, False, id="password-in-url"),
        pytest.param("rediss://todo:pw@cache.internal:6380/0", {}, False, id="acl-user-tls"),
        pytest.param("redis://10.0.0.5:6379/0?password=pw", {}, False, id="password-in-query"),
        pytest.param("redis://10.0.0.5:6379/0", {"password": "pw"}, False, id="password-option"),
        pytest.param("redis://127.0.0.1:6379/0", {}, False, id="loopback"),
        pytest.param("redis://localhost:6379/0", {}, False, id="localhost"),
        pytest.param("redis://[::1]:6379/0", {}, False, id="loopback-v6"),
        pytest.param("unix:///run/redis/redis.sock?db=0", {}, False, id="unix-socket"),
    ],
)
def test_a_redis_off_this_host_without_a_password_is_w003(
    settings: Any, location: Any, options: dict[str, str], warned: bool
) -> None:
    cache = {"BACKEND": REDIS, "LOCATION": location, "OPTIONS": options}
    warnings = jwks_cache_warnings(settings, cache)
    assert warnings == (["authbridge.W003"] if warned else [])


def test_w003_names_the_open_host_and_never_a_password(settings: Any) -> None:
    location = "redis://todo:secret-pw@10.0.0.5:6379/0;redis://cache.internal:6380/0"
    jwks_cache_warnings(settings, {"BACKEND": REDIS, "LOCATION": location})
    [warning] = check_jwks_cache()
    assert "cache.internal:6380" in warning.msg
    assert "10.0.0.5" not in warning.msg
    assert "secret-pw" not in warning.msg + (warning.hint or "")
    assert "checks.md" in (warning.hint or "")


@pytest.mark.parametrize(
    "cache",
    [
        pytest.param({"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, id="locmem"),
        pytest.param({"BACKEND": REDIS, "LOCATION": "redis://10.0.0.5:6379/0"}, id="open-redis"),
    ],
)
@pytest.mark.parametrize(
    "jwks_variable", [pytest.param(True, id="pinned-keys"), pytest.param(False, id="secrets-only")]
)
def test_nothing_fetched_nothing_kept_so_no_cache_warning(
    settings: Any, cache: dict[str, Any], jwks_variable: bool
) -> None:
    settings.DEBUG = False
    settings.CACHES = {**settings.CACHES, "authbridge-test": cache}
    settings.BETTER_AUTH_URL = "https://auth.example.com" if jwks_variable else ""
    if not jwks_variable:
        settings.BETTER_AUTH_JWKS = ""  # BETTER_AUTH_SECRET alone
    assert check_jwks_cache() == []


def test_the_jwks_cache_warnings_are_deploy_checks_only(settings: Any) -> None:
    settings.DEBUG = False
    jwks_cache_warnings(settings, {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"})
    assert "authbridge.W002" in [m.id for m in run_checks(include_deployment_checks=True)]
    assert "authbridge.W002" not in [m.id for m in run_checks()]
