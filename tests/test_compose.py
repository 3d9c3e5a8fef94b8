"""compose.yaml, checked without a compose engine (issue 18, item 2).

The structure an operator relies on: the services, start order with conditions, health checks,
a password on Redis, no secret in the file, stop_grace_period above gunicorn's graceful timeout,
the nginx template's variables all set, every ${VARIABLE} in a form compose substitutes. No
compose engine runs here (none is on the CI machine; `docker compose config` is the adopter's
check); the image these services run is built and run by tests/image (make test-image).
"""

import re
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "compose.yaml"
ENTRYPOINT = REPO / "deploy" / "container" / "entrypoint"
APPS = ("api1", "api2", "release", "purge")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|AUTH")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
TEST_ENV = {
    "DJANGO_SECRET_KEY": "k" * 60,
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "POSTGRES_PASSWORD": "pg-password",
    "REDIS_PASSWORD": "redis-password",
    "BETTER_AUTH_URL": "https://app.example.com",
    "CORS_ALLOWED_ORIGINS": "https://app.example.com",
    "METRICS_TOKEN": "metrics-token",
}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution; a missing required variable raises KeyError."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise KeyError(f"{name}: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""

    return VARIABLE.sub(substitute, text.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    config = yaml.safe_load(interpolate(COMPOSE.read_text(), TEST_ENV))
    assert "${" not in yaml.safe_dump(config)  # every variable has a form compose knows
    return dict(config["services"])


def test_the_production_shape(services: dict[str, Any]) -> None:
    assert set(services) == {"nginx", "api1", "api2", "release", "purge", "db", "redis"}
    images = {services[name]["image"] for name in APPS}
    assert images == {"localhost/todo-api:latest"}  # one image, four roles
    assert services["api1"]["command"] == services["api2"]["command"] == ["serve"]
    assert services["release"]["command"] == ["release"]
    assert services["purge"]["command"][:2] == ["purge", "--every"]
    assert int(services["purge"]["command"][2]) <= 3600  # at least hourly (CONTRACT §8)
    entrypoint = ENTRYPOINT.read_text()
    for command in ("serve", "release", "purge", "healthcheck"):
        assert f"\n    {command})\n" in entrypoint
    assert services["release"]["restart"] == "no"  # one-shot
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}  # the only entrance


def test_start_order_waits_for_health_and_the_release(services: dict[str, Any]) -> None:
    def conditions(name: str) -> dict[str, str]:
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on without conditions"
        return {other: spec["condition"] for other, spec in depends.items()}

    healthy, done = "service_healthy", "service_completed_successfully"
    assert conditions("release") == {"db": healthy, "redis": healthy}
    for api in ("api1", "api2", "purge"):
        assert conditions(api) == {"db": healthy, "redis": healthy, "release": done}
    assert conditions("nginx") == {"api1": healthy, "api2": healthy}


def test_health_checks(services: dict[str, Any]) -> None:
    for name in ("nginx", "api1", "api2", "db", "redis"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL"), name
    assert services["api1"]["healthcheck"]["test"] == [
        "CMD", "/app/deploy/container/entrypoint", "healthcheck",
    ]  # fmt: skip
    assert "/api/health" in services["nginx"]["healthcheck"]["test"][1]


def seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(
        float(number) * units[unit] for number, unit in re.findall(r"([\d.]+)(ms|s|m|h)", duration)
    )


def test_stop_grace_period_above_gunicorn_graceful_timeout(services: dict[str, Any]) -> None:
    graceful = runpy.run_path(str(REPO / "gunicorn.conf.py"))["graceful_timeout"]
    for name in ("api1", "api2"):
        assert seconds(services[name]["stop_grace_period"]) > graceful
    assert seconds(services["nginx"]["stop_grace_period"]) > graceful


def test_redis_has_a_password_the_apps_use(services: dict[str, Any]) -> None:
    redis = services["redis"]
    script = " ".join(redis["command"])
    assert "requirepass $REDIS_PASSWORD" in script  # from stdin: not on a command line
    assert redis["environment"]["REDIS_PASSWORD"] == TEST_ENV["REDIS_PASSWORD"]
    assert redis["environment"]["REDISCLI_AUTH"] == TEST_ENV["REDIS_PASSWORD"]  # health check
    for name in APPS:
        environment = services[name]["environment"]
        assert environment["REDIS_URL"] == "redis://:redis-password@redis:6379/0"
        assert environment["DATABASE_URL"] == "postgres://todo:pg-password@db:5432/todo"
        assert environment["DJANGO_BEHIND_PROXY"] == "1"


def test_no_secret_is_written_in_the_file(raw: dict[str, Any]) -> None:
    """Every secret comes from the environment (an --env-file), required with ${NAME:?...}."""
    found = 0
    for name, service in raw["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(variable):
                found += 1
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), (name, variable)
    assert found >= 4
    for url in ("DATABASE_URL", "REDIS_URL"):
        assert ":?" in raw["x-app"]["environment"][url]


def test_nginx_gets_every_variable_its_template_uses(raw: dict[str, Any]) -> None:
    nginx = raw["services"]["nginx"]
    (volume,) = [v for v in nginx["volumes"] if "templates/default.conf.template" in v]
    default = re.search(r"\$\{TODO_NGINX_TEMPLATE:-([^}]+)\}", volume)
    assert default is not None
    template = (REPO / default[1]).read_text()
    used = set(re.findall(r"\$\{(TODO_[A-Z_]+)\}", template))
    assert used, "the template names no variable"
    assert used <= set(nginx["environment"])
