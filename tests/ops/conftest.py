"""Fixtures for the production-shape tests: our own Redis, and Django's cache pointed at it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from scripts.harness import RedisServer
from tests.ops.servers import redis_server as throwaway_redis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The stack test runs only when asked for (`make test-stack`, `-m stack`): .ci/run does."""
    if "stack" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("stack") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with throwaway_redis(tmp_path) as server:
        yield server


@pytest.fixture
def redis_cache(settings: Any, redis_server: RedisServer) -> Iterator[RedisServer]:
    """The "default" cache is a FailOpenRedisCache on our own redis-server for this test, and
    rate limits count there as settings.py has them count whenever REDIS_URL is set."""
    settings.RATE_LIMIT_COUNTER = "edge.counters.RedisCounter"
    settings.CACHES = {
        "default": {
            "BACKEND": "edge.cache.FailOpenRedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "todo-test",
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 0.5,
                "serializer": "edge.cache.JsonSerializer",  # as in settings.py
            },
        }
    }
    yield redis_server
    for cache in caches.all(initialized_only=True):
        cache.close()
