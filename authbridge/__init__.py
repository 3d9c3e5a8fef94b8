"""authbridge: verify Better Auth JWTs in Django (Ninja, DRF or plain views), statelessly.

The adapters live in ``authbridge.ninja``, ``authbridge.drf`` and ``authbridge.middleware``;
this module re-exports the types every project uses, lazily, so importing it needs neither
configured settings nor an optional framework.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "AuthError",
    "Identity",
    "InvalidToken",
    "KeysUnavailable",
    "UserMismatch",
    "get_config",
    "get_verifier",
    "identity_of",
    "identity_required_of",
]

EXPORTS = {
    "AuthError": "authbridge.errors",
    "InvalidToken": "authbridge.errors",
    "KeysUnavailable": "authbridge.errors",
    "UserMismatch": "authbridge.errors",
    "Identity": "authbridge.identity",
    "identity_of": "authbridge.identity",
    "identity_required_of": "authbridge.identity",
    "get_config": "authbridge.config",
    "get_verifier": "authbridge.config",
}

if TYPE_CHECKING:
    from authbridge.config import get_config, get_verifier
    from authbridge.errors import AuthError, InvalidToken, KeysUnavailable, UserMismatch
    from authbridge.identity import Identity, identity_of, identity_required_of


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module 'authbridge' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(EXPORTS[name]), name)
