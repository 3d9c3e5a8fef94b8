"""The tests' side of scripts/harness: a missing program skips locally and fails in CI.

The shared Redis and PostgreSQL serve other people's tests: fault tests never stop those; they
start the harness's throwaway servers. Without the binary a test skips locally and fails in CI
(CI=true), like the e2e tests.
"""

import os
from pathlib import Path
from typing import NoReturn

import pytest

from scripts.harness import MissingBinary, RedisServer, find_binary


def unavailable(message: str) -> NoReturn:
    """Fail in CI (CI=true), skip on a developer's machine."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_binary(name: str, *extra_dirs: str) -> str:
    try:
        return find_binary(name, *extra_dirs)
    except MissingBinary as missing:
        unavailable(str(missing))


def redis_server(workdir: Path) -> RedisServer:
    """The harness's throwaway redis-server (not started), or skip/fail without redis-server."""
    require_binary("redis-server")
    return RedisServer(workdir)
