"""Identity: who a verified token says the caller is."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str  # from "sub"
    email: str | None
    name: str | None
    claims: Mapping[str, Any]
