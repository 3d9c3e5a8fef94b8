"""Tiny typed readers for environment variables; every error names the variable.

One rule for every type: a variable set to an empty (or all-blank) value is unset, so it takes
its default, or stops the start when it is required. ``DJANGO_SECURE_SSL_REDIRECT=`` therefore
keeps the secure default instead of silently turning it off.
"""

import os
import re
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_MISSING = object()
N = TypeVar("N", int, float)
# Ninja's throttle rates: "100/min", "5/10s", "1000/day".
_RATE = re.compile(r"[1-9]\d*/([1-9]\d*)?(s|sec|m|min|h|hour|d|day)")


def _raw(name: str) -> str | None:
    """The stripped value, or ``None`` when the variable is unset or empty (the one rule)."""
    value = os.environ.get(name, "").strip()
    return value or None


def env_str(name: str, *, default: object = _MISSING) -> str:
    """The variable as a string; without a default (or with ``None``) it is required."""
    value = _raw(name)
    if value is not None:
        return value
    if default is _MISSING or default is None:
        raise ImproperlyConfigured(f"{name} must be set (see .env.example).")
    return str(default)


def env_bool(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def _env_number(name: str, parse: type[N], kind: str, *, default: N, minimum: N | None) -> N:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind}, got {value!r}.") from None
    if number != number or (minimum is not None and number < minimum):  # NaN or too small
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value!r}.")
    return number


def env_int(name: str, *, default: int, minimum: int | None = None) -> int:
    return _env_number(name, int, "an integer", default=default, minimum=minimum)


def env_float(name: str, *, default: float, minimum: float | None = None) -> float:
    return _env_number(name, float, "a number", default=default, minimum=minimum)


def env_list(name: str, *, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_rate(name: str, *, default: str) -> str:
    """A rate limit in Ninja's ``"N/period"`` form (``100/min``, ``5/10s``)."""
    value = _raw(name) or default
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name} must look like 100/min (periods: s, min, h, day), got {value!r}."
        )
    return value
