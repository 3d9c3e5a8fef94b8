"""The environment of a gunicorn or manage.py child run the way production runs it.

DEBUG off, no .env file read, and none of the project's variables from the caller's own
environment (a developer's DATABASE_URL or BETTER_AUTH_URL would otherwise decide what a
benchmark or a test measures): the caller names every setting it means.
"""

import os
import secrets
from collections.abc import Mapping

# The variables the project reads (CONTRACT §3, gunicorn.conf.py): never inherited.
PROJECT_PREFIXES = (
    "DJANGO_", "BETTER_AUTH_", "JWT_", "JWKS_", "DATABASE_", "CORS_", "REDIS_", "CACHE_",
    "RATE_LIMIT_", "TASKS_", "METRICS_", "PROMETHEUS_", "GUNICORN_",
)  # fmt: skip
PROJECT_NAMES = ("WEB_CONCURRENCY", "HOST", "PORT")
# Plain HTTP on loopback: no redirect to https, and no HSTS a browser would remember.
LOOPBACK_HTTP = {"DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_HSTS_SECONDS": "0"}


def is_project_variable(name: str) -> bool:
    return name.startswith(PROJECT_PREFIXES) or name in PROJECT_NAMES


def without_project_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` minus the project's variables: PATH, HOME, locale and the like stay."""
    return {name: value for name, value in environ.items() if not is_project_variable(name)}


def production_env(
    *,
    allowed_hosts: str,
    secret_key: str | None = None,
    https: bool = False,
    inherit: bool = True,
    settings: Mapping[str, str] | None = None,
    **named: str,
) -> dict[str, str]:
    """DEBUG off and the caller's ``settings`` and ``named`` (CONTRACT §3 names; ``named`` wins);
    a fresh secret key unless given; ``https=False`` (loopback) turns the redirect to https and
    HSTS off; ``inherit`` starts from this process's environment minus the project's variables.
    """
    settings = {**(settings or {}), **named}
    for name, value in settings.items():
        if not is_project_variable(name):
            raise ValueError(f"{name} is not a variable of this project (CONTRACT §3)")
        if name in ("DJANGO_DEBUG", "DJANGO_ENV_FILE") and value not in ("0", os.devnull):
            raise ValueError(f"{name}={value} is not production: DEBUG off, no .env file")
    env = without_project_variables(os.environ) if inherit else {}
    env.update(DJANGO_ENV_FILE=os.devnull, DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS=allowed_hosts)
    env["DJANGO_SECRET_KEY"] = secret_key or secrets.token_urlsafe(50)
    if not https:
        env.update(LOOPBACK_HTTP)
    env.update(settings)
    return env
