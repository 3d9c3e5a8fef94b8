"""The production-shape variables: bad values stop the start naming the variable."""

import pytest

from tests.test_settings import PRODUCTION_ENV, run_manage


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        pytest.param("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must start", id="redis"),
        pytest.param("RATE_LIMIT_READS", "lots", "RATE_LIMIT_READS must look like", id="rate"),
        pytest.param("RATE_LIMIT_WRITES", "5/0s", "RATE_LIMIT_WRITES must look like", id="zero"),
        pytest.param("TASKS_PER_USER_MAX", "0", "TASKS_PER_USER_MAX must be at least 1", id="cap"),
        pytest.param(
            "DATABASE_STATEMENT_TIMEOUT_MS", "-5", "DATABASE_STATEMENT_TIMEOUT_MS must be", id="st"
        ),
    ],
)
def test_bad_value_stops_start_naming_the_variable(variable: str, value: str, message: str) -> None:
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://u@db.internal:5432/todo", variable: value}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_statement_timeout_reaches_the_postgresql_options() -> None:
    code = "from django.conf import settings as s; print(s.DATABASES['default']['OPTIONS'])"
    env = {**PRODUCTION_ENV, "DATABASE_URL": "postgres://u@db.internal:5432/todo"}
    result = run_manage(
        "shell", "--no-imports", "-c", code, **env, DATABASE_STATEMENT_TIMEOUT_MS="2500"
    )
    assert result.returncode == 0, result.stderr
    assert "'options': '-c statement_timeout=2500'" in result.stdout
