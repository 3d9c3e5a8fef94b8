"""authbridge's Django settings: their names, defaults, types and deprecated names.

Every setting has a default, so a project that sets only ``BETTER_AUTH_URL`` (or only
``BETTER_AUTH_SECRET``) starts. The names before 0.1.0 (``JWT_LEEWAY_SECONDS``, ``JWKS_*``...)
still work, with a DeprecationWarning and the check authbridge.W004.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

NUMBER = (int, float)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: Any
    types: tuple[type, ...]
    old_name: str = ""

    def accepts(self, value: Any) -> bool:
        # bool is an int to Python, never a number of seconds to a reader.
        return isinstance(value, self.types) and not isinstance(value, bool)

    def describe_types(self) -> str:
        names = {str: "a string", int: "an integer", float: "a number", list: "a list"}
        return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in self.types))


SETTINGS: tuple[Setting, ...] = (
    Setting("BETTER_AUTH_URL", "", (str,)),
    Setting("BETTER_AUTH_SECRET", "", (str,)),
    Setting("BETTER_AUTH_SECRETS", "", (str,)),
    Setting("BETTER_AUTH_JWKS_URL", "", (str,)),
    Setting("BETTER_AUTH_JWKS", "", (str,)),
    Setting("BETTER_AUTH_ISSUER", "", (str,)),
    Setting("BETTER_AUTH_AUDIENCE", (), (str, list, tuple)),
    Setting("BETTER_AUTH_LEEWAY_SECONDS", 10, (int,), "JWT_LEEWAY_SECONDS"),
    Setting("BETTER_AUTH_MAX_LIFETIME_SECONDS", 86_400, (int,), "JWT_MAX_LIFETIME_SECONDS"),
    Setting("BETTER_AUTH_JWKS_CACHE_SECONDS", 300.0, NUMBER, "JWKS_CACHE_SECONDS"),
    Setting(
        "BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS", 30.0, NUMBER, "JWKS_REFRESH_COOLDOWN_SECONDS"
    ),
    Setting("BETTER_AUTH_JWKS_TIMEOUT_SECONDS", 3.0, NUMBER, "JWKS_TIMEOUT_SECONDS"),
    Setting("BETTER_AUTH_JWKS_CACHE_ALIAS", "default", (str,), "JWKS_CACHE_ALIAS"),
    Setting("BETTER_AUTH_JWKS_PROXY_URL", "", (str,), "JWKS_PROXY_URL"),
    Setting("BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS", 300.0, NUMBER, "JWKS_MAX_STALENESS_SECONDS"),
    Setting("BETTER_AUTH_REALM", "api", (str,)),
    Setting("BETTER_AUTH_USER_LOADER", "", (str,)),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
DEPRECATED_NAMES = {setting.old_name: setting.name for setting in SETTINGS if setting.old_name}


def name_in_use(source: Any, setting: Setting) -> str:
    """The name ``source`` sets this setting under: the new one wins; "" when unset."""
    if hasattr(source, setting.name):
        return setting.name
    if setting.old_name and hasattr(source, setting.old_name):
        return setting.old_name
    return ""


def deprecation_message(old_name: str) -> str:
    return (
        f"The setting {old_name} is deprecated; rename it to {DEPRECATED_NAMES[old_name]} "
        "(authbridge 0.1.0)."
    )


def read(source: Any, name: str, *, warn: Callable[[str], None] | None = None) -> Any:
    """The value of setting ``name`` in ``source`` (its old name too), else its default.

    A value of the wrong type is ImproperlyConfigured naming the setting; ``warn`` receives
    the deprecation message when only the old name is set (default: a DeprecationWarning).
    """
    setting = BY_NAME[name]
    used = name_in_use(source, setting)
    if not used:
        return setting.default
    value = getattr(source, used)
    if used != setting.name:
        message = deprecation_message(used)
        if warn is None:
            warnings.warn(message, DeprecationWarning, stacklevel=3)
        else:
            warn(message)
    if not setting.accepts(value):
        raise ImproperlyConfigured(
            f"{used} must be {setting.describe_types()}, got {type(value).__name__} {value!r}."
        )
    return value


def as_tuple(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A setting holding a list also takes one string: ``"https://a.example"`` is one item."""
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    return tuple(value)
