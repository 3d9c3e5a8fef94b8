"""Fixtures for the production-shape tests: our own Redis, and Django's cache pointed at it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from tests.ops.servers import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_cache(settings: Any, redis_server: RedisServer) -> Iterator[RedisServer]:
    """The "default" cache is a FailOpenRedisCache on our own redis-server for this test."""
    settings.CACHES = {
        "default": {
            "BACKEND": "todo_project.cache.FailOpenRedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "todo-test",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    yield redis_server
    for cache in caches.all(initialized_only=True):
        cache.close()
