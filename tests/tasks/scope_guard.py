"""A database guard for API tests: every statement on a user's tables must name one user.

Installed with ``connection.execute_wrapper(require_user_scope)`` around every request the
tasks tests make (``TasksApi.call``), so each request is also an isolation check. The SQL is
parsed just enough to be precise: each parenthesised level that reads or writes a tasks table
needs, in its own WHERE clause, a top-level ``AND`` term ``user_id = <parameter>`` (or
``user_id IN (<parameters>)``); an INSERT must set ``user_id``. A ``user_id`` in a SELECT list,
behind an ``OR`` or a ``NOT``, or compared with anything but a parameter does not count.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tasks.models import ErasedUser, IdempotencyRecord, Task

SCOPED_TABLES = frozenset(
    {Task._meta.db_table, IdempotencyRecord._meta.db_table, ErasedUser._meta.db_table}
)

_CHILD = re.compile(r"@(\d+)@")
_TABLE = re.compile(r'\b(FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?(\s*@(\d+)@)?', re.IGNORECASE)
_WHERE_END = re.compile(
    r"\b(ORDER\s+BY|GROUP\s+BY|HAVING|LIMIT|OFFSET|RETURNING|FOR\s+UPDATE|UNION|WINDOW)\b",
    re.IGNORECASE,
)
_PARAM = r"(%s|\?|'[^']*')"
_USER_EQUALS = re.compile(rf'^(\S+\.)?"?user_id"?\s*=\s*{_PARAM}$', re.IGNORECASE)
_USER_IN = re.compile(r'^(\S+\.)?"?user_id"?\s+IN\s*@(\d+)@$', re.IGNORECASE)
_PARAM_LIST = re.compile(rf"^\s*{_PARAM}(\s*,\s*{_PARAM})*\s*$")


class UnscopedStatement(AssertionError):
    """A statement on a tasks table without a user condition reached the database."""


@dataclass
class Group:
    """One parenthesis level: its text with literals as ``'?'`` and inner groups as ``@n@``."""

    text: str = ""
    children: list["Group"] = field(default_factory=list)

    def walk(self) -> Iterator["Group"]:
        yield self
        for child in self.children:
            yield from child.walk()


def parse(sql: str) -> Group:
    stack, parts = [Group()], [[]]  # type: list[Group], list[list[str]]
    i = 0
    while i < len(sql):
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while (end := sql.index(char, end)) + 1 < len(sql) and sql[end + 1] == char:
                end += 2  # a doubled quote inside the literal
            parts[-1].append("'?'" if char == "'" else sql[i : end + 1])
            i = end + 1
            continue
        if char == "(":
            child = Group()
            parts[-1].append(f"@{len(stack[-1].children)}@")
            stack[-1].children.append(child)
            stack.append(child)
            parts.append([])
        elif char == ")":
            stack.pop().text = "".join(parts.pop())
        else:
            parts[-1].append(char)
        i += 1
    stack[0].text = "".join(parts[0])
    return stack[0]


def _where(group: Group) -> tuple[str, Group] | None:
    """The level's own WHERE text (outer parentheses removed) and the group it lives in."""
    match = re.search(r"\bWHERE\b", group.text, re.IGNORECASE)
    if match is None:
        return None
    text = group.text[match.end() :]
    if end := _WHERE_END.search(text):
        text = text[: end.start()]
    text = text.strip()
    while (single := _CHILD.fullmatch(text)) is not None:
        group = group.children[int(single[1])]
        text = group.text.strip()
    return text, group


def _names_one_user(group: Group) -> bool:
    where = _where(group)
    if where is None:
        return False
    text, owner = where
    if re.search(r"\bOR\b", text, re.IGNORECASE):
        return False  # "user_id = %s OR …" does not scope anything
    for term in re.split(r"\bAND\b", text, flags=re.IGNORECASE):
        term = term.strip()
        if _USER_EQUALS.match(term):
            return True
        if (listed := _USER_IN.match(term)) and _PARAM_LIST.match(
            owner.children[int(listed[2])].text
        ):
            return True
    return False


@lru_cache(maxsize=4096)
def unscoped_tables(sql: str) -> frozenset[str]:
    """The tasks tables some level of ``sql`` reaches without naming one user."""
    root = parse(sql)
    offenders = set()
    for group in root.walk():
        for match in _TABLE.finditer(group.text):
            table = match[2]
            if table not in SCOPED_TABLES:
                continue
            if match[1].upper() == "INTO":
                columns = group.children[int(match[4])].text if match[4] else ""
                scoped = re.search(r'(^|[\s,])"?user_id"?(,|\s|$)', columns) is not None
            else:
                scoped = _names_one_user(group)
            if not scoped:
                offenders.add(table)
    return frozenset(offenders)


def require_user_scope(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """``connection.execute_wrapper`` hook: refuse a statement that could reach every user."""
    if offenders := unscoped_tables(sql):
        raise UnscopedStatement(f"no user_id condition on {sorted(offenders)}: {sql}")
    return execute(sql, params, many, context)
