"""AuthConfig (frozen) built from django.conf.settings, and the per-process verifier."""

import json
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from authbridge import conf
from authbridge.fetch import fetch_json
from authbridge.jwks import DEFAULT_MAX_STALENESS_SECONDS, FetchedJwks
from authbridge.jwksstore import CachedJwksStore
from authbridge.keys import KeySource, PinnedJwks, parse_jwks
from authbridge.tokencache import VerifiedTokens
from authbridge.verify import Verifier

# What better-auth 1.7.25 does with its base URL (read in its dist files):
# - utils/url.mjs getBaseURL/withPath: a base URL with a path (other than "/") is kept as it
#   is and the basePath option ignored; without one, basePath (default "/api/auth") is
#   appended. api/index.mjs routes under that URL's path, trailing "/" or not.
# - plugins/jwt/index.mjs serves the JWKS at jwks.jwksPath (default "/jwks") under it:
#   "https://a.example/auth/" -> /auth/jwks.
# - context/create-context.mjs keeps only new URL(baseURL).origin as options.baseURL, and
#   plugins/jwt/sign.mjs signs with iss = aud = that origin (unless jwt.issuer/jwt.audience).
# basePath, jwksPath and jwt.issuer/audience are not in the URL: each needs its override.
DEFAULT_BASE_PATH = "/api/auth"
JWKS_ROUTE = "/jwks"
JWKS_PATH = DEFAULT_BASE_PATH + JWKS_ROUTE  # the JWKS path when the base URL has none
DEFAULT_PORTS = {"http": ":80", "https": ":443"}
MAX_JWKS_BYTES = 64_000
DEFAULT_REALM = "api"
AUTH_SETTING_PREFIXES = ("BETTER_AUTH_", "JWT_", "JWKS_")


def parse_secret_list(raw: str) -> tuple[str, ...]:
    """Better Auth's rotation list ``"2:new,1:old"`` -> ``("new", "old")``; ValueError if bad."""
    secrets: list[str] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        version, sep, secret = entry.partition(":")
        if not sep or not version.strip() or not secret:
            raise ValueError("each entry must look like version:secret")
        secrets.append(secret)
    return tuple(secrets)


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` as a browser's URL.origin gives it: what Better Auth puts in
    iss and aud (lower case, no user info, no default port, no path)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.netloc.rpartition("@")[2].lower()
    if scheme in DEFAULT_PORTS:
        host = host.removesuffix(DEFAULT_PORTS[scheme])
    return f"{scheme}://{host}"


def jwks_url_of(url: str) -> str:
    """Better Auth's JWKS for this base URL: under its path if it has one, else /api/auth."""
    parts = urlsplit(url.strip())
    base_path = parts.path.rstrip("/") or DEFAULT_BASE_PATH
    return urlunsplit((parts.scheme, parts.netloc, base_path + JWKS_ROUTE, "", ""))


@dataclass(frozen=True, slots=True)
class AuthConfig:
    jwks_url: str
    pinned_jwks: str
    secrets: tuple[str, ...]
    issuer: str
    audiences: tuple[str, ...]
    leeway_seconds: int
    cache_seconds: float
    cooldown_seconds: float
    timeout_seconds: float
    max_lifetime_seconds: int = 86_400
    cache_alias: str = "default"
    proxy_url: str = ""
    max_staleness_seconds: float = DEFAULT_MAX_STALENESS_SECONDS
    realm: str = DEFAULT_REALM  # the realm of the WWW-Authenticate challenge (RFC 6750)
    user_loader: str = ""  # dotted path of callable(Identity) -> a User or None; "": stateless

    @classmethod
    def from_settings(cls, source: Any = settings) -> "AuthConfig":
        """From Django settings (defaults for what is unset; old names with a warning)."""
        value = partial(conf.read, source)
        base_url = value("BETTER_AUTH_URL")
        origin = url_origin(base_url) if base_url else ""
        secret = value("BETTER_AUTH_SECRET")
        secrets = [secret] if secret else []
        secrets += [s for s in parse_secret_list(value("BETTER_AUTH_SECRETS")) if s not in secrets]
        audiences = conf.as_tuple(value("BETTER_AUTH_AUDIENCE"))
        return cls(
            jwks_url=value("BETTER_AUTH_JWKS_URL") or (jwks_url_of(base_url) if base_url else ""),
            pinned_jwks=value("BETTER_AUTH_JWKS"),
            secrets=tuple(secrets),
            issuer=value("BETTER_AUTH_ISSUER") or origin,
            audiences=audiences or ((origin,) if origin else ()),
            leeway_seconds=value("BETTER_AUTH_LEEWAY_SECONDS"),
            cache_seconds=value("BETTER_AUTH_JWKS_CACHE_SECONDS"),
            cooldown_seconds=value("BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS"),
            timeout_seconds=value("BETTER_AUTH_JWKS_TIMEOUT_SECONDS"),
            max_lifetime_seconds=value("BETTER_AUTH_MAX_LIFETIME_SECONDS"),
            cache_alias=value("BETTER_AUTH_JWKS_CACHE_ALIAS"),
            proxy_url=value("BETTER_AUTH_JWKS_PROXY_URL"),
            max_staleness_seconds=value("BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS"),
            realm=value("BETTER_AUTH_REALM"),
            user_loader=value("BETTER_AUTH_USER_LOADER"),
        )

    def verifier(self, verified_tokens: VerifiedTokens | None = None) -> Verifier:
        """A Verifier for this configuration (its own key source and verified-token cache)."""
        return Verifier(
            jwks=self.key_source(),
            secrets=self.secrets,
            issuer=self.issuer,
            audiences=self.audiences,
            leeway_seconds=self.leeway_seconds,
            max_lifetime_seconds=self.max_lifetime_seconds,
            verified_tokens=verified_tokens,
        )

    def key_source(self) -> KeySource | None:
        """Pinned keys win over fetching: an operator who pins keys wants no HTTP."""
        if self.pinned_jwks:
            return PinnedJwks(parse_jwks(json.loads(self.pinned_jwks)))
        if self.jwks_url:
            return FetchedJwks(
                self.jwks_url,
                fetch=partial(fetch_json, proxy=self.proxy_url),
                store=CachedJwksStore(self.cache_alias, self.jwks_url),
                ttl=self.cache_seconds,
                cooldown=self.cooldown_seconds,
                timeout=self.timeout_seconds,
                max_bytes=MAX_JWKS_BYTES,
                max_staleness=self.max_staleness_seconds,
            )
        return None


@lru_cache(maxsize=1)
def get_config() -> AuthConfig:
    return AuthConfig.from_settings()


@lru_cache(maxsize=1)
def get_verifier() -> Verifier:
    """Built on first use (never at import), shared by the process's threads with its JWKS cache."""
    return get_config().verifier()


@receiver(setting_changed)
def reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(AUTH_SETTING_PREFIXES):
        get_config.cache_clear()
        get_verifier.cache_clear()
