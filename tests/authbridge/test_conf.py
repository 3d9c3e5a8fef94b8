"""Settings a library can own: defaults, one string for a list, old names with a warning,
wrong types named, and the package importable without settings or optional frameworks."""

import ast
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

import authbridge
from authbridge import conf
from authbridge.config import AuthConfig, get_config

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {"todo_project", "tasks", "bench", "scripts", "tests"}


def test_a_project_that_sets_only_better_auth_url_gets_every_default() -> None:
    config = AuthConfig.from_settings(SimpleNamespace(BETTER_AUTH_URL="https://app.example.com"))
    assert config.jwks_url == "https://app.example.com/api/auth/jwks"
    assert (config.issuer, config.audiences) == (
        "https://app.example.com",
        ("https://app.example.com",),
    )
    assert (config.leeway_seconds, config.max_lifetime_seconds) == (10, 86_400)
    assert (config.cache_seconds, config.cooldown_seconds, config.timeout_seconds) == (300, 30, 3)
    assert (config.cache_alias, config.realm, config.user_loader) == ("default", "api", "")
    assert config.secrets == ()


def test_a_project_that_sets_only_the_secret_verifies_hs256(make_token: Any) -> None:
    config = AuthConfig.from_settings(SimpleNamespace(BETTER_AUTH_SECRET="s" * 40))
    token = make_token("HS256", key="s" * 40, iss=None, aud=None)
    assert config.verifier().verify(token).user_id == "user-1"


def test_an_audience_given_as_one_string_is_one_audience() -> None:
    config = AuthConfig.from_settings(
        SimpleNamespace(BETTER_AUTH_AUDIENCE="https://app.example.com")
    )
    assert config.audiences == ("https://app.example.com",)


def test_an_old_setting_name_still_works_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="JWT_LEEWAY_SECONDS is deprecated.*BETTER_AUTH_"):
        config = AuthConfig.from_settings(SimpleNamespace(JWT_LEEWAY_SECONDS=42))
    assert config.leeway_seconds == 42


def test_the_new_name_wins_over_the_old_one() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old name is not read at all: no warning
        config = AuthConfig.from_settings(
            SimpleNamespace(JWKS_CACHE_SECONDS=1.0, BETTER_AUTH_JWKS_CACHE_SECONDS=60.0)
        )
    assert config.cache_seconds == 60.0


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BETTER_AUTH_LEEWAY_SECONDS", "10", "BETTER_AUTH_LEEWAY_SECONDS must be an integer"),
        ("BETTER_AUTH_LEEWAY_SECONDS", True, "must be an integer, got bool"),
        ("BETTER_AUTH_JWKS_TIMEOUT_SECONDS", "3", "must be an integer or a number"),
        ("BETTER_AUTH_URL", None, "BETTER_AUTH_URL must be a string"),
        ("JWKS_CACHE_ALIAS", 3, "JWKS_CACHE_ALIAS must be a string"),
    ],
)
def test_a_setting_of_the_wrong_type_is_named(name: str, value: Any, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ImproperlyConfigured, match=expected):
            AuthConfig.from_settings(SimpleNamespace(**{name: value}))


def check_ids(settings: Any) -> list[str]:
    get_config.cache_clear()
    return [message.id or "" for message in run_checks(tags=["authbridge"])]


def test_checks_report_a_deprecated_name_w004(settings: Any) -> None:
    del settings.BETTER_AUTH_LEEWAY_SECONDS
    settings.JWT_LEEWAY_SECONDS = 5
    assert "authbridge.W004" in check_ids(settings)


def test_checks_report_both_names_w005(settings: Any) -> None:
    settings.JWT_LEEWAY_SECONDS = 5
    ids = check_ids(settings)
    assert "authbridge.W005" in ids
    assert "authbridge.W004" not in ids


def test_checks_report_a_wrong_type_e008_without_crashing(settings: Any) -> None:
    settings.BETTER_AUTH_JWKS_TIMEOUT_SECONDS = "3"
    settings.BETTER_AUTH_AUDIENCE = 7
    messages = [m for m in run_checks(tags=["authbridge"]) if m.id == "authbridge.E008"]
    assert {m.msg.split(" ")[0] for m in messages} == {
        "BETTER_AUTH_JWKS_TIMEOUT_SECONDS",
        "BETTER_AUTH_AUDIENCE",
    }
    assert all(m.hint for m in messages)


@pytest.mark.parametrize("path", ["nowhere.loader", "authbridge.conf.NUMBER"])
def test_checks_report_a_bad_user_loader_e009(settings: Any, path: str) -> None:
    settings.BETTER_AUTH_USER_LOADER = path
    assert "authbridge.E009" in check_ids(settings)


def test_checks_accept_a_callable_user_loader(settings: Any) -> None:
    settings.BETTER_AUTH_USER_LOADER = "authbridge.users.TokenUser"
    assert "authbridge.E009" not in check_ids(settings)


def test_every_setting_is_in_the_settings_reference() -> None:
    reference = (ROOT / "authbridge" / "docs" / "settings.md").read_text()
    for setting in conf.SETTINGS:
        assert f"`{setting.name}`" in reference, setting.name
        if setting.old_name:
            assert f"`{setting.old_name}`" in reference, setting.old_name


def test_every_check_id_is_in_the_checks_reference() -> None:
    source = (ROOT / "authbridge" / "checks.py").read_text()
    ids = {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)}
    check_ids_in_code = {i for i in ids if isinstance(i, str) and i.startswith("authbridge.")}
    reference = (ROOT / "authbridge" / "docs" / "checks.md").read_text()
    assert len(check_ids_in_code) >= 12
    assert {i for i in check_ids_in_code if f"`{i}`" not in reference} == set()


# --- the package's boundaries ------------------------------------------------------------------


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def package_imports() -> dict[str, set[str]]:
    """Each module of the package (its path under authbridge/) -> the modules it imports."""
    imports = {
        path.relative_to(ROOT / "authbridge").as_posix(): imported_modules(path)
        for path in (ROOT / "authbridge").rglob("*.py")
    }
    # The scan sees the package: the verifier and an adapter importing its framework.
    assert "jwt" in imports["verify.py"]
    assert "ninja" in imports["ninja.py"]
    return imports


def test_authbridge_imports_nothing_of_this_project() -> None:
    offenders = {
        f"{path}: {name}"
        for path, names in package_imports().items()
        for name in names
        if name.split(".")[0] in PROJECT_PACKAGES
    }
    assert offenders == set()


def test_only_the_adapters_import_their_framework() -> None:
    frameworks = {"ninja": "ninja.py", "rest_framework": "drf.py"}
    importers = {
        (framework, path)
        for path, names in package_imports().items()
        for name in names
        if (framework := name.split(".")[0]) in frameworks
    }
    assert importers == set(frameworks.items())


def test_the_package_imports_without_settings_or_optional_frameworks() -> None:
    """As a project with only Django and PyJWT installed imports it."""
    script = (
        "import sys\n"
        "for name in ('ninja', 'rest_framework', 'prometheus_client'):\n"
        "    sys.modules[name] = None  # not installed\n"
        "import authbridge\n"
        "assert authbridge.__version__\n"
        "from authbridge import Identity, InvalidToken, KeysUnavailable, get_verifier\n"
        "import authbridge.middleware, authbridge.metrics, authbridge.users, authbridge.checks\n"
        "authbridge.metrics.AUTH_REFUSALS.labels('x').inc()  # counts nothing\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


def test_the_public_names_are_exported() -> None:
    assert set(authbridge.__all__) <= set(dir(authbridge)) | set(authbridge.EXPORTS)
    assert authbridge.Identity.__module__ == "authbridge.identity"
    with pytest.raises(AttributeError):
        authbridge.nothing  # noqa: B018
