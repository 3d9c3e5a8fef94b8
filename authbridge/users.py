"""From an Identity to a user object: TokenUser (stateless) or the project's own loader."""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.utils.module_loading import import_string

from authbridge.config import get_config
from authbridge.errors import InvalidToken
from authbridge.identity import Identity

UserLoader = Callable[[Identity], Any]


class TokenUser:
    """A user known only from a verified token: no database row, no query.

    Enough for ``request.user.is_authenticated`` and ``request.user.id`` (the token's ``sub``);
    it holds no permissions. Set BETTER_AUTH_USER_LOADER to get your own User model instead.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.id = self.pk = self.username = identity.user_id
        self.email = identity.email
        self.name = identity.name

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.username

    def __repr__(self) -> str:
        return f"<TokenUser {self.username!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TokenUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


@lru_cache(maxsize=8)
def loader_at(path: str) -> UserLoader:
    """The callable BETTER_AUTH_USER_LOADER names (the check authbridge.E009 tries it first)."""
    loader: UserLoader = import_string(path)
    return loader


def user_for(identity: Identity) -> Any:
    """The user for a verified identity: BETTER_AUTH_USER_LOADER's answer, else a TokenUser.

    A loader answers None for a user it does not know: that is a 401 (reason unknown_user).
    """
    path = get_config().user_loader
    if not path:
        return TokenUser(identity)
    user = loader_at(path)(identity)
    if user is None:
        raise InvalidToken("The token's user is not known here.", reason="unknown_user")
    return user


async def auser_for(identity: Identity) -> Any:
    """user_for in async code: a loader (which may query the database) runs on a thread."""
    if not get_config().user_loader:
        return TokenUser(identity)
    return await sync_to_async(user_for)(identity)
