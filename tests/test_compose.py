"""compose.yaml, checked without a compose engine (issue 18, item 2).

The structure an operator relies on: the services, start order with conditions, health checks,
a password on Redis, no secret in the file, stop_grace_period above gunicorn's graceful timeout,
the nginx templates' variables all set and `nginx -t` passing on what compose renders, every
${VARIABLE} in a form compose substitutes, required ones refused when missing. No
compose engine runs here (none is on the CI machine; `docker compose config` is the adopter's
check); the image these services run is built and run by tests/image (make test-image).
"""

import re
import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.servers import require_binary

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
    "TODO_CORS_ORIGINS": '"https://app.example.com" 1;',
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


def interpolate_values(node: Any, env: dict[str, str]) -> Any:
    """Compose substitutes inside the parsed values (so a value may hold quotes or colons)."""
    if isinstance(node, dict):
        return {key: interpolate_values(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_values(value, env) for value in node]
    return interpolate(node, env) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def services(raw: dict[str, Any]) -> dict[str, Any]:
    config = interpolate_values(raw, TEST_ENV)
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


def test_nginx_gets_every_variable_its_templates_use(raw: dict[str, Any]) -> None:
    """The default template and the load-balancer variant TODO_NGINX_TEMPLATE may name."""
    nginx = raw["services"]["nginx"]
    (volume,) = [v for v in nginx["volumes"] if "templates/default.conf.template" in v]
    default = re.search(r"\$\{TODO_NGINX_TEMPLATE:-([^}]+)\}", volume)
    assert default is not None
    templates = sorted((REPO / "deploy").glob("nginx-*.template"))
    assert REPO / default[1] in templates
    for template in templates:
        used = set(re.findall(r"\$\{(TODO_[A-Z_]+)\}", template.read_text()))
        assert used, f"{template.name} names no variable"
        assert used <= set(nginx["environment"]), (
            f"{template.name}: {used - set(nginx['environment'])}"
        )


@pytest.mark.parametrize("missing", sorted(TEST_ENV))
def test_compose_refuses_to_start_without_a_required_variable(
    raw: dict[str, Any], missing: str
) -> None:
    env = {name: value for name, value in TEST_ENV.items() if name != missing}
    with pytest.raises(KeyError, match=missing):
        interpolate_values(raw, env)


def render(template: str, env: dict[str, str]) -> str:
    """What the nginx image's envsubst does: only the variables set, nginx's own $vars stay."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], m[0]), template)


@pytest.mark.parametrize("template", ["nginx-todo-api", "nginx-todo-api-behind-lb"])
def test_nginx_accepts_the_config_compose_renders(
    services: dict[str, Any], tmp_path: Path, template: str
) -> None:
    """`nginx -t` on each template rendered with compose's nginx environment (the upstream
    names api1/api2 resolve only on the compose network: loopback stands in for them)."""
    nginx = require_binary("nginx")
    env = {**services["nginx"]["environment"], "TODO_LISTEN": "18080"}
    env["TODO_UPSTREAMS"] = env["TODO_UPSTREAMS"].replace("api1:", "127.0.0.1:")
    env["TODO_UPSTREAMS"] = env["TODO_UPSTREAMS"].replace("api2:", "127.0.0.2:")
    site = tmp_path / "site.conf"
    site.write_text(render((REPO / "deploy" / f"{template}.conf.template").read_text(), env))
    assert "${TODO_" not in "\n".join(
        line for line in site.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    temp = " ".join(
        f"{kind}_temp_path {tmp_path};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  {temp}\n  include {site};\n}}\n"
    )
    done = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
