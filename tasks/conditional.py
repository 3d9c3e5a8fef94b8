"""The HTTP validators of a task (CONTRACT §8): ETags out, If-Match in.

``etag_for`` formats a task's strong validator; ``versions_matching`` reads an ``If-Match``
header into the versions the write may apply to. The services take those versions, never the
header: they know nothing of HTTP's grammar.
"""

import re

from tasks.models import Task

# Versions and ids are bigints: 18 digits always fit, so a crafted tag cannot overflow a query.
_STRONG_TAG = re.compile(r'"(?P<task_id>\d{1,18})-(?P<version>\d{1,18})"')

# The versions a conditional write may apply to; None: any (no If-Match, or "*").
Versions = frozenset[int] | None


def etag_for(task: Task) -> str:
    """A strong validator: the version changes with every write, unlike timestamps' precision."""
    return f'"{task.pk}-{task.version}"'


def versions_matching(if_match: str | None, *, task_id: int) -> Versions:
    """The versions of ``task_id`` an If-Match header names: None for no header or ``*``; an
    empty set when it names none of this task's (the write then fails its precondition)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = (_STRONG_TAG.fullmatch(tag.strip()) for tag in if_match.split(","))
    # Weak tags (W/"…") never match: If-Match uses the strong comparison (RFC 9110 §13.1.1).
    return frozenset(int(m["version"]) for m in tags if m and int(m["task_id"]) == task_id)
