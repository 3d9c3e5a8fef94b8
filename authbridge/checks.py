"""System checks: the auth configuration must be usable before the service serves a request.

They judge ``AuthConfig.from_settings()``, the configuration the verifier is built from, so they
follow how it derives the JWKS URL, issuer and audiences. Only the form of a variable (a URL,
the secret list) is checked on the variable itself, so the message can name it.
"""

import ipaddress
import re
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from authbridge import conf
from authbridge.config import AuthConfig, parse_secret_list

MIN_SECRET_LENGTH = 32
KEY_SOURCE_VARIABLES = (
    "BETTER_AUTH_URL, BETTER_AUTH_JWKS_URL, BETTER_AUTH_JWKS, BETTER_AUTH_SECRET or "
    "BETTER_AUTH_SECRETS"
)


class SettingsWith:
    """``django.conf.settings`` with some names replaced, for ``AuthConfig.from_settings``."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return getattr(settings, name)


def auth_config() -> tuple[AuthConfig, list[CheckMessage]]:
    """The AuthConfig the app will run with; a malformed BETTER_AUTH_SECRETS is E003 (and left
    out, so the other checks still run instead of the check crashing). A setting of the wrong
    type is E008 (check_settings): its default stands in for it here."""
    replaced: dict[str, Any] = {
        setting.name: setting.default
        for setting in conf.SETTINGS
        if (used := conf.name_in_use(settings, setting))
        and not setting.accepts(getattr(settings, used))
    }
    errors: list[CheckMessage] = []
    try:
        parse_secret_list(conf.read(SettingsWith(**replaced), "BETTER_AUTH_SECRETS", warn=quiet))
    except ValueError as exc:
        hint = 'Use Better Auth\'s format "version:secret,version:secret", e.g. "2:new,1:old".'
        errors.append(
            Error(f"BETTER_AUTH_SECRETS is malformed: {exc}.", hint=hint, id="authbridge.E003")
        )
        replaced["BETTER_AUTH_SECRETS"] = ""
    source = SettingsWith(**replaced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # W004 says it
        return AuthConfig.from_settings(source), errors


def quiet(message: str) -> None:
    """Deprecation messages while checking: W004 reports them."""


@register("authbridge")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Types (E008), deprecated names (W004, W005) and the user loader (E009)."""
    messages: list[CheckMessage] = []
    for setting in conf.SETTINGS:
        used = conf.name_in_use(settings, setting)
        if used and not setting.accepts(getattr(settings, used)):
            value = getattr(settings, used)
            messages.append(
                Error(
                    f"{used} must be {setting.describe_types()}, got "
                    f"{type(value).__name__} {value!r}.",
                    hint=f"Set {setting.name} to {setting.describe_types()}, or remove it for "
                    f"the default ({setting.default!r}).",
                    id="authbridge.E008",
                )
            )
        if setting.old_name and used == setting.old_name:
            messages.append(
                Warning(
                    conf.deprecation_message(used),
                    hint=f"Rename the setting {used} to {setting.name}; the value is unchanged.",
                    id="authbridge.W004",
                )
            )
        elif setting.old_name and used and hasattr(settings, setting.old_name):
            messages.append(
                Warning(
                    f"Both {setting.name} and its deprecated name {setting.old_name} are set; "
                    f"{setting.old_name} is ignored.",
                    hint=f"Remove {setting.old_name}.",
                    id="authbridge.W005",
                )
            )
    return messages + user_loader_errors()


def user_loader_errors() -> list[CheckMessage]:
    path = getattr(settings, "BETTER_AUTH_USER_LOADER", "")
    if not path or not isinstance(path, str):
        return []
    try:
        loader = import_string(path)
    except ImportError as exc:
        problem = f"cannot be imported ({exc})"
    else:
        if callable(loader):
            return []
        problem = "is not callable"
    return [
        Error(
            f"BETTER_AUTH_USER_LOADER names {path!r}, which {problem}.",
            hint="Name a function taking an authbridge.Identity and returning a user or None, "
            'as "package.module.function".',
            id="authbridge.E009",
        )
    ]


@register("authbridge")
def check_auth_configuration(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    config, errors = auth_config()
    if not (config.secrets or config.jwks_url or config.pinned_jwks):
        errors.append(
            Error(
                "No way to verify tokens is configured.",
                hint=f"Set at least one of {KEY_SOURCE_VARIABLES}.",
                id="authbridge.E001",
            )
        )
    if not settings.DEBUG and any(len(secret) < MIN_SECRET_LENGTH for secret in config.secrets):
        errors.append(
            Error(
                f"BETTER_AUTH_SECRET / BETTER_AUTH_SECRETS holds a secret shorter than "
                f"{MIN_SECRET_LENGTH} characters.",
                hint="Use a long random secret, e.g. `openssl rand -base64 32`.",
                id="authbridge.E002",
            )
        )
    if config.pinned_jwks:
        try:
            config.key_source()  # parses the pinned JWKS as the verifier will
        except (ValueError, RecursionError) as exc:  # JwksError is a ValueError
            errors.append(
                Error(
                    f"BETTER_AUTH_JWKS is not a usable JWKS: {exc}.",
                    hint='Paste the JSON Better Auth serves at its JWKS route ({"keys": [...]}).',
                    id="authbridge.E004",
                )
            )
    for name in ("BETTER_AUTH_URL", "BETTER_AUTH_JWKS_URL"):
        url = getattr(settings, name, "")
        if not isinstance(url, str):
            continue  # E008
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            errors.append(
                Error(
                    f"{name} must be an http(s) URL, got {url!r}.",
                    hint="Give the full URL, e.g. https://app.example.com (Better Auth's baseURL).",
                    id="authbridge.E005",
                )
            )
    proxy = urlsplit(config.proxy_url)
    if config.proxy_url and (proxy.scheme != "http" or not proxy.hostname):
        errors.append(
            Error(
                f"BETTER_AUTH_JWKS_PROXY_URL must be an http:// URL, got {config.proxy_url!r}.",
                hint="Give the proxy as http://host:port (HTTPS is tunnelled through it), or "
                "leave it empty.",
                id="authbridge.E005",
            )
        )
    return errors + issuer_audience_errors(config) + cache_errors(config)


def issuer_audience_errors(config: AuthConfig) -> list[CheckMessage]:
    """Asymmetric keys sign more than user tokens (e.g. the session-cache cookie): iss/aud tell."""
    if not (config.jwks_url or config.pinned_jwks) or (config.issuer and config.audiences):
        return []
    return [
        Error(
            "Asymmetric (JWKS) tokens are accepted, but no expected issuer and audience are known.",
            hint="Set BETTER_AUTH_URL, or both BETTER_AUTH_ISSUER and BETTER_AUTH_AUDIENCE.",
            id="authbridge.E006",
        )
    ]


def cache_errors(config: AuthConfig) -> list[CheckMessage]:
    alias = config.cache_alias
    backend = str(settings.CACHES.get(alias, {}).get("BACKEND", ""))
    if alias in settings.CACHES and not backend.endswith("DatabaseCache"):
        return []
    return [
        Error(
            f"BETTER_AUTH_JWKS_CACHE_ALIAS names {alias!r}, which is no cache in CACHES or the "
            "database cache (token verification runs no database query).",
            hint='Name a cache of CACHES that is not the DatabaseCache (e.g. "default").',
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
    config, _ = auth_config()  # a malformed secret list is check_auth_configuration's E003
    if config.pinned_jwks:
        return []  # pinned keys: nothing is fetched
    parts = urlsplit(config.jwks_url)
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


def is_process_local(cache: Mapping[str, Any]) -> bool:
    """A cache no other process sees (LocMemCache), or none at all (DummyCache)."""
    try:
        backend = import_string(cache.get("BACKEND", ""))
    except ImportError:
        return False  # no such backend: using the cache fails loudly anyway
    return isinstance(backend, type) and issubclass(backend, LocMemCache | DummyCache)


def open_redis_hosts(cache: Mapping[str, Any]) -> list[str]:
    """The Redis servers of ``cache`` off this host that it reaches without a password."""
    options = cache.get("OPTIONS", {})
    if options.get("password") or options.get("credential_provider"):
        return []
    location = cache.get("LOCATION", "")
    # As Django's RedisCache reads LOCATION: a list, or URLs separated by "," or ";".
    urls = re.split("[;,]", location) if isinstance(location, str) else list(location)
    hosts = []
    for parts in (urlsplit(url.strip()) for url in urls):
        if parts.scheme not in ("redis", "rediss") or is_loopback(parts.hostname or ""):
            continue  # not Redis, a unix:// socket, or this host
        if not (parts.password or parse_qs(parts.query).get("password")):
            hosts.append(parts.netloc.rpartition("@")[2])
    return hosts


@register("authbridge", Tags.caches, Tags.security, deploy=True)
def check_jwks_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Where the last good JWKS is kept: shared (else a recycled worker starts cold), locked."""
    config, _ = auth_config()
    cache = settings.CACHES.get(config.cache_alias)
    if config.pinned_jwks or not config.jwks_url or cache is None:
        return []  # nothing fetched, nothing kept; an alias that names no cache is E007
    warnings: list[CheckMessage] = []
    if not settings.DEBUG and is_process_local(cache):
        warnings.append(
            Warning(
                f"The last good JWKS is kept in the cache {config.cache_alias!r}, which no other "
                "process shares: a new or recycled worker starts without keys, and while Better "
                "Auth is unreachable it answers 503 to every JWKS token.",
                hint="Point BETTER_AUTH_JWKS_CACHE_ALIAS at a cache the workers share (Redis, "
                "Memcached).",
                id="authbridge.W002",
            )
        )
    hosts = open_redis_hosts(cache)
    if hosts:
        warnings.append(
            Warning(
                f"The last good JWKS is kept in Redis on {', '.join(hosts)}, which takes "
                "connections without a password: whoever can reach it can read, change or wipe "
                "the cache (rate-limit counters, the keys new workers start from).",
                hint="Put a password or an ACL user in the cache's LOCATION "
                "(redis://user:password@host/0), bind Redis to a private interface, and use "
                "rediss:// (TLS) across hosts; see authbridge/docs/checks.md (W003).",
                id="authbridge.W003",
            )
        )
    return warnings
