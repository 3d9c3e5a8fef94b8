"""Bad configuration stops the start naming the variable; production passes check --deploy."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from scripts.harness import production_env, without_project_variables
from todo_project import env

REPO = Path(__file__).resolve().parent.parent

# Behind TLS (the https redirect and HSTS on), as deployed; nothing of this process's own.
PRODUCTION_ENV = production_env(
    allowed_hosts="api.example.com",
    secret_key="x" * 60 + "production-only-secret-key-with-enough-entropy",
    https=True,
    inherit=False,
    BETTER_AUTH_URL="https://app.example.com",
    CORS_ALLOWED_ORIGINS="https://app.example.com",
    # docs/DEPLOY.md: Redis on this host keeps the last good JWKS for every worker.
    REDIS_URL="redis://127.0.0.1:6379/0",
)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a clean environment: no .env, none of the developer's variables."""
    return run_python("manage.py", *args, **env)


def run_python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = without_project_variables(os.environ)
    base.update(DJANGO_ENV_FILE=os.devnull, DJANGO_SETTINGS_MODULE="todo_project.settings")
    base.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_without_secret_key_refuses_to_start() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_mode_starts_without_secret_key() -> None:
    result = run_manage("check", DJANGO_DEBUG="1", BETTER_AUTH_SECRET="s" * 32)
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_environment() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("redis_url", "warning"),
    [
        pytest.param("", "authbridge.W002", id="no-redis-keys-per-process"),
        pytest.param("redis://cache.internal:6379/0", "authbridge.W003", id="open-redis"),
        pytest.param("rediss://todo:pw@cache.internal:6380/0", "", id="locked-redis"),
    ],
)
def test_check_deploy_judges_where_the_jwks_is_kept(redis_url: str, warning: str) -> None:
    env = {**PRODUCTION_ENV, "REDIS_URL": redis_url}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    if warning:
        assert result.returncode != 0
        assert warning in result.stderr
    else:
        assert result.returncode == 0, result.stderr + result.stdout


def test_check_deploy_flags_debug_mode() -> None:
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION_ENV, "DJANGO_DEBUG": "1"}
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on in deployment


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be a boolean", id="bool"),
        pytest.param(
            "JWT_LEEWAY_SECONDS", "ten", "JWT_LEEWAY_SECONDS must be an integer", id="int"
        ),
        pytest.param("JWT_LEEWAY_SECONDS", "-1", "JWT_LEEWAY_SECONDS must be at least 0", id="neg"),
        pytest.param("JWKS_TIMEOUT_SECONDS", "soon", "JWKS_TIMEOUT_SECONDS must be", id="float"),
        pytest.param("DATABASE_URL", "mysqlx://nope", "DATABASE_URL is not a valid", id="db-url"),
        pytest.param("DJANGO_LOG_LEVEL", "LOUD", "DJANGO_LOG_LEVEL must be DEBUG", id="log-level"),
    ],
)
def test_unparsable_value_stops_start_naming_the_variable(
    variable: str, value: str, message: str
) -> None:
    env = {**PRODUCTION_ENV, variable: value}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_database_url_selects_postgresql_with_persistent_health_checked_connections() -> None:
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://u@db.internal:5432/todo",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["edge.postgresql", "todo", "600", "True"]
    behind_pgbouncer = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://u@db.internal:6432/todo",
        DJANGO_CONN_HEALTH_CHECKS="0",
    )
    assert behind_pgbouncer.stdout.split()[-1] == "False", behind_pgbouncer.stderr


def test_real_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_DEBUG=1\nCORS_ALLOWED_ORIGINS=http://from-file:3000\n")
    code = "from django.conf import settings as s; print(s.DEBUG, s.CORS_ALLOWED_ORIGINS)"
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DJANGO_ENV_FILE=str(env_file),
        CORS_ALLOWED_ORIGINS="http://from-env:3000",
        BETTER_AUTH_SECRET="s" * 32,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['http://from-env:3000']"


def test_wsgi_entry_point_refuses_a_configuration_without_key_sources() -> None:
    """gunicorn imports todo_project.wsgi: bad auth config must stop it, naming the variables."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "BETTER_AUTH_URL"}
    result = run_python("-c", "import todo_project.wsgi", **env)
    assert result.returncode != 0
    assert "authbridge.E001" in result.stderr
    assert "BETTER_AUTH_URL" in result.stderr


def test_wsgi_entry_point_loads_quietly_with_a_good_configuration() -> None:
    result = run_python("-c", "import todo_project.wsgi", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


EMPTY_MEANS_UNSET = [
    pytest.param(lambda: env.env_str("X_VAR", default="d"), "d", id="str"),
    pytest.param(lambda: env.env_bool("X_VAR", default=True), True, id="bool-true-default"),
    pytest.param(lambda: env.env_bool("X_VAR", default=False), False, id="bool-false-default"),
    pytest.param(lambda: env.env_int("X_VAR", default=7), 7, id="int"),
    pytest.param(lambda: env.env_float("X_VAR", default=0.5), 0.5, id="float"),
    pytest.param(lambda: env.env_list("X_VAR", default=["a"]), ["a"], id="list"),
]


@pytest.mark.parametrize("raw", ["", "   "])
@pytest.mark.parametrize(("read", "default"), EMPTY_MEANS_UNSET)
def test_an_empty_value_means_unset_for_every_type(
    monkeypatch: pytest.MonkeyPatch, raw: str, read: Callable[[], object], default: object
) -> None:
    monkeypatch.setenv("X_VAR", raw)
    assert read() == default
    monkeypatch.delenv("X_VAR")
    assert read() == default


@pytest.mark.parametrize("raw", ["", " "])
def test_an_empty_required_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("X_VAR", raw)
    with pytest.raises(ImproperlyConfigured, match="X_VAR must be set"):
        env.env_str("X_VAR")


@pytest.mark.parametrize(
    ("read", "raw", "message"),
    [
        pytest.param(lambda: env.env_bool("X_VAR", default=True), "nope", "a boolean", id="bool"),
        pytest.param(lambda: env.env_int("X_VAR", default=1), "1.5", "an integer", id="int"),
        pytest.param(lambda: env.env_float("X_VAR", default=1.0), "x", "a number", id="float"),
    ],
)
def test_a_value_that_does_not_parse_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, read: Callable[[], object], raw: str, message: str
) -> None:
    monkeypatch.setenv("X_VAR", raw)
    with pytest.raises(ImproperlyConfigured, match=f"X_VAR must be {message}"):
        read()


def test_an_empty_ssl_redirect_keeps_the_secure_default() -> None:
    code = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.ALLOWED_HOSTS)"
    result = run_manage(
        "shell", "--no-imports", "-c", code,
        **PRODUCTION_ENV, DJANGO_SECURE_SSL_REDIRECT="", DJANGO_HSTS_SECONDS=" ",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['api.example.com']"


def test_secret_key_fallbacks_come_from_the_environment() -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    result = run_python(
        "-c",
        f"import django; django.setup(); {code}",
        **PRODUCTION_ENV,
        DJANGO_SECRET_KEY_FALLBACKS="old-one-" + "k" * 50 + ", old-two-" + "k" * 50,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["old-one-" + "k" * 50, "old-two-" + "k" * 50])
