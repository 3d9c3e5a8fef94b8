"""REDIS_URL switches the shared cache to Redis; Redis down is a cache miss, never a 500."""

import logging
import threading
from typing import Any

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from tests.ops.servers import RedisServer
from tests.test_settings import run_python
from todo_project.cache import RETRY_SECONDS, CacheUnavailable, FailOpenRedisCache

SHOW_BACKEND = (
    "import django; django.setup(); from django.core.cache import caches; "
    "print(type(caches['default']).__name__)"
)


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        pytest.param({}, "LocMemCache", id="unset-per-process-memory"),
        pytest.param({"REDIS_URL": "redis://127.0.0.1:1/0"}, "FailOpenRedisCache", id="redis"),
    ],
)
def test_redis_url_picks_the_backend(env: dict[str, str], backend: str) -> None:
    result = run_python("-c", SHOW_BACKEND, DJANGO_DEBUG="1", BETTER_AUTH_SECRET="s" * 32, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


def test_cache_defaults_to_memory_in_tests() -> None:
    assert isinstance(caches["default"], LocMemCache)


def test_counters_are_shared_between_processes(redis_cache: RedisServer) -> None:
    # Two backend objects with their own connection pools stand for two gunicorn workers.
    first = caches.create_connection("default")
    second = caches.create_connection("default")
    assert isinstance(first, FailOpenRedisCache)
    first.add("hits", 0, timeout=60)
    assert [first.incr("hits"), second.incr("hits"), first.incr("hits")] == [1, 2, 3]
    first.set("jwks", {"keys": []}, timeout=60)
    assert second.get("jwks") == {"keys": []}


def test_one_redis_client_serves_every_call_and_thread(redis_cache: RedisServer) -> None:
    backend = caches.create_connection("default")
    assert isinstance(backend, FailOpenRedisCache)
    backend.set("warm", 1, timeout=60)
    clients = [backend.writer("a") for _ in range(3)]
    assert all(c is clients[0] for c in clients)  # Django's own builds a redis.Redis per call

    def count_many() -> None:
        for _ in range(50):
            backend.count("shared", timeout=60)

    threads = [threading.Thread(target=count_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert backend.get("shared") == 400


def test_redis_down_answers_like_a_miss_and_logs_once(
    redis_cache: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache.set("kept", "value", timeout=60)
    assert cache.get("kept") == "value"
    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="todo_project.cache"):
        assert cache.get("kept", "fallback") == "fallback"
        assert cache.add("new", 1) is False
        cache.set("new", 1)
        assert cache.get_many(["kept"]) == {}
        with pytest.raises(CacheUnavailable):
            cache.incr("kept")
    warnings = [r for r in caplog.records if r.name == "todo_project.cache"]
    assert len(warnings) == 1
    assert "cache unavailable" in warnings[0].getMessage()


def test_cache_comes_back_after_redis_restarts(redis_cache: RedisServer) -> None:
    backend = caches["default"]
    assert isinstance(backend, FailOpenRedisCache)
    now = [1000.0]
    backend.clock = lambda: now[0]
    redis_cache.stop()
    assert backend.get("k", "miss") == "miss"
    redis_cache.start()
    assert backend.get("k", "miss") == "miss"  # still resting: Redis is not asked yet
    backend.set("k", "v")
    now[0] += RETRY_SECONDS
    backend.set("k", "v")
    assert backend.get("k") == "v"


@pytest.mark.django_db
def test_api_keeps_answering_while_redis_is_down(
    redis_cache: RedisServer, client: Client, auth_headers: Any, settings: Any
) -> None:
    settings.RATE_LIMIT_WRITES = "1/min"  # would refuse the second create if counting worked
    redis_cache.stop()
    url = "/api/user-1/tasks"
    for _ in range(2):
        response = client.post(
            url, {"title": "x"}, content_type="application/json", **auth_headers("user-1")
        )
        assert response.status_code == 201, response.content
    assert client.get(url, **auth_headers("user-1")).status_code == 200
