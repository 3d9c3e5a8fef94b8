"""System checks: the auth configuration must be usable before the service serves a request."""

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from authbridge.config import JWKS_PATH, parse_secret_list
from authbridge.keys import parse_jwks

MIN_SECRET_LENGTH = 32
KEY_SOURCE_VARIABLES = (
    "BETTER_AUTH_URL, BETTER_AUTH_JWKS_URL, BETTER_AUTH_JWKS, BETTER_AUTH_SECRET or "
    "BETTER_AUTH_SECRETS"
)


def secrets_or_error() -> tuple[list[str], list[CheckMessage]]:
    secrets = [settings.BETTER_AUTH_SECRET] if settings.BETTER_AUTH_SECRET else []
    try:
        secrets += parse_secret_list(settings.BETTER_AUTH_SECRETS)
    except ValueError as exc:
        hint = 'Use Better Auth\'s format "version:secret,version:secret", e.g. "2:new,1:old".'
        return secrets, [
            Error(f"BETTER_AUTH_SECRETS is malformed: {exc}.", hint=hint, id="authbridge.E003")
        ]
    return secrets, []


@register("authbridge")
def check_auth_configuration(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    secrets, errors = secrets_or_error()
    if not (
        secrets
        or settings.BETTER_AUTH_URL
        or settings.BETTER_AUTH_JWKS_URL
        or settings.BETTER_AUTH_JWKS
    ):
        errors.append(
            Error(
                "No way to verify tokens is configured.",
                hint=f"Set at least one of {KEY_SOURCE_VARIABLES}.",
                id="authbridge.E001",
            )
        )
    if not settings.DEBUG and any(len(secret) < MIN_SECRET_LENGTH for secret in secrets):
        errors.append(
            Error(
                f"BETTER_AUTH_SECRET / BETTER_AUTH_SECRETS holds a secret shorter than "
                f"{MIN_SECRET_LENGTH} characters.",
                hint="Use a long random secret, e.g. `openssl rand -base64 32`.",
                id="authbridge.E002",
            )
        )
    if settings.BETTER_AUTH_JWKS:
        try:
            parse_jwks(json.loads(settings.BETTER_AUTH_JWKS))
        except (ValueError, RecursionError) as exc:  # JwksError is a ValueError
            errors.append(
                Error(f"BETTER_AUTH_JWKS is not a usable JWKS: {exc}.", id="authbridge.E004")
            )
    for name in ("BETTER_AUTH_URL", "BETTER_AUTH_JWKS_URL"):
        url = getattr(settings, name)
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            errors.append(
                Error(f"{name} must be an http(s) URL, got {url!r}.", id="authbridge.E005")
            )
    proxy = urlsplit(settings.JWKS_PROXY_URL)
    if settings.JWKS_PROXY_URL and (proxy.scheme != "http" or not proxy.hostname):
        errors.append(
            Error(
                f"JWKS_PROXY_URL must be an http:// URL, got {settings.JWKS_PROXY_URL!r}.",
                id="authbridge.E005",
            )
        )
    return errors + issuer_audience_errors() + cache_errors()


def issuer_audience_errors() -> list[CheckMessage]:
    """Asymmetric keys sign more than user tokens (e.g. the session-cache cookie): iss/aud tell."""
    base = settings.BETTER_AUTH_URL
    if not (base or settings.BETTER_AUTH_JWKS_URL or settings.BETTER_AUTH_JWKS):
        return []
    if (settings.BETTER_AUTH_ISSUER or base) and (settings.BETTER_AUTH_AUDIENCE or base):
        return []
    return [
        Error(
            "Asymmetric (JWKS) tokens are accepted, but no expected issuer and audience are known.",
            hint="Set BETTER_AUTH_URL, or both BETTER_AUTH_ISSUER and BETTER_AUTH_AUDIENCE.",
            id="authbridge.E006",
        )
    ]


def cache_errors() -> list[CheckMessage]:
    alias = settings.JWKS_CACHE_ALIAS
    backend = str(settings.CACHES.get(alias, {}).get("BACKEND", ""))
    if alias in settings.CACHES and not backend.endswith("DatabaseCache"):
        return []
    return [
        Error(
            f"JWKS_CACHE_ALIAS names {alias!r}, which is no cache in CACHES or the database "
            "cache (token verification runs no database query).",
            id="authbridge.E007",
        )
    ]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register("authbridge", Tags.security, deploy=True)
def check_jwks_transport(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.BETTER_AUTH_JWKS:
        return []  # pinned keys: nothing is fetched
    base = settings.BETTER_AUTH_URL.rstrip("/")
    url = settings.BETTER_AUTH_JWKS_URL or (f"{base}{JWKS_PATH}" if base else "")
    parts = urlsplit(url)
    if parts.scheme != "http" or is_loopback(parts.hostname or ""):
        return []
    return [
        Warning(
            f"The JWKS is fetched over plain http from {parts.hostname}: anyone on the path "
            "can substitute the keys.",
            hint="Use an https BETTER_AUTH_URL / BETTER_AUTH_JWKS_URL, or pin BETTER_AUTH_JWKS.",
            id="authbridge.W001",
        )
    ]
