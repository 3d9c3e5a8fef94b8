"""REDIS_URL switches the shared cache to Redis; Redis down is a cache miss, never a 500;
what is read from Redis is never unpickled."""

import logging
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.base import default_key_func
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from authbridge.jwksstore import CachedJwksStore
from edge.cache import (
    RETRY_SECONDS,
    CacheUnavailable,
    FailOpenRedisCache,
    JsonSerializer,
    OneClientPerPool,
)
from scripts.harness import RedisServer
from tests.test_settings import run_python

JWKS_URL = "https://auth.example.com/api/auth/jwks"
SHOW_BACKEND = (
    "import django; django.setup(); from django.core.cache import caches; "
    "from django.conf import settings; "
    "print(type(caches['default']).__name__, settings.RATE_LIMIT_COUNTER)"
)


@pytest.mark.parametrize(
    ("env", "backend"),
    [
        pytest.param({}, "LocMemCache edge.counters.CacheCounter", id="unset-per-process-memory"),
        pytest.param(
            {"REDIS_URL": "redis://127.0.0.1:1/0"},
            "FailOpenRedisCache edge.counters.RedisCounter",
            id="redis",
        ),
    ],
)
def test_redis_url_picks_the_backend_and_the_counter(env: dict[str, str], backend: str) -> None:
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
    # The private Django names edge.cache relies on: RedisCache._class and ._cache, and
    # RedisCacheClient._get_connection_pool (through get_client(), counting_script() and every
    # call below).
    client: Any = backend._cache  # type: ignore[attr-defined]  # Django's private name
    assert isinstance(client, OneClientPerPool)
    backend.set("warm", 1, timeout=60)
    clients = [client.get_client("a", write=True) for _ in range(3)]
    assert all(c is clients[0] for c in clients)  # Django's own builds a redis.Redis per call
    assert client.get_client("a") is clients[0]  # one server: reads share the pool
    assert clients[0].get(backend.make_key("warm")) == b"1"

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
    with caplog.at_level(logging.WARNING, logger="edge.cache"):
        assert cache.get("kept", "fallback") == "fallback"
        assert cache.add("new", 1) is False
        cache.set("new", 1)
        assert cache.get_many(["kept"]) == {}
        with pytest.raises(CacheUnavailable):
            cache.incr("kept")
    warnings = [r for r in caplog.records if r.name == "edge.cache"]
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


def test_counts_go_through_a_connection_of_each_threads_own(
    redis_cache: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = caches.create_connection("default")
    assert isinstance(backend, FailOpenRedisCache)
    client: Any = backend._cache  # type: ignore[attr-defined]  # Django's private name
    assert backend.count("mine", timeout=60) == 1
    script = client.counting_script()
    assert client.counting_script() is script  # kept for the thread
    held = script.registered_client.connection  # single_connection_client: one, held
    assert held is not None
    others: list[Any] = []
    thread = threading.Thread(target=lambda: others.append(client.counting_script()))
    thread.start()
    thread.join()
    assert others[0].registered_client.connection is not held  # another thread, its own
    # A forked child builds its own: it must not write on the parent's socket.
    monkeypatch.setattr("edge.cache.os.getpid", lambda: -1)
    child = client.counting_script()
    assert child is not script
    assert child.registered_client.connection is not held
    assert backend.count("mine", timeout=60) == 2


def test_counting_comes_back_after_redis_restarts(redis_cache: RedisServer) -> None:
    backend = caches.create_connection("default")
    assert isinstance(backend, FailOpenRedisCache)
    now = [1000.0]
    backend.clock = lambda: now[0]
    assert [backend.count("c", timeout=60) for _ in range(2)] == [1, 2]
    redis_cache.stop()
    assert backend.count("c", timeout=60) is None  # down: counts nothing, says so
    redis_cache.start()  # a new server: no data, no script loaded, the held socket is dead
    now[0] += RETRY_SECONDS
    assert [backend.count("c", timeout=60) for _ in range(2)] == [1, 2]


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


# --- a write to Redis is data, never code (issue 16) ----------------------------------------


class Planted:
    """Pickled, it creates ``marker`` when loaded: a stand-in for an attacker's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_values_are_stored_as_json_and_counters_as_integers(redis_cache: RedisServer) -> None:
    backend = caches["default"]
    assert isinstance(backend, FailOpenRedisCache)
    backend.set("entry", {"keys": [], "at": 1.5})
    backend.add("counter", 0)
    assert backend.incr("counter", 2) == 2
    raw = redis.Redis.from_url(redis_cache.url)
    assert raw.get(backend.make_key("entry")) == b'{"keys":[],"at":1.5}'
    assert raw.get(backend.make_key("counter")) == b"2"
    assert backend.get_many(["entry", "counter"]) == {
        "entry": {"keys": [], "at": 1.5},
        "counter": 2,
    }


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="no-serializer-option"),
        pytest.param({"serializer": "edge.cache.JsonSerializer"}, id="dotted-path"),
        pytest.param({"serializer": JsonSerializer}, id="class"),
        pytest.param({"serializer": JsonSerializer()}, id="instance"),
    ],
)
def test_values_are_json_whatever_names_the_serializer(
    redis_server: RedisServer, options: dict[str, Any]
) -> None:
    backend = FailOpenRedisCache(redis_server.url, {"OPTIONS": options})
    backend.set("entry", [1, "two"])
    raw = redis.Redis.from_url(redis_server.url)
    assert raw.get(backend.make_key("entry")) == b'[1,"two"]'
    assert backend.get("entry") == [1, "two"]
    backend.close()


def test_a_planted_pickle_is_a_logged_miss_never_loaded(
    redis_cache: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = caches["default"]
    assert isinstance(backend, FailOpenRedisCache)
    marker = tmp_path / "unpickled"
    planted = pickle.dumps(Planted(marker))
    store = CachedJwksStore("default", JWKS_URL)  # the key a worker reads on a cold start
    redis.Redis.from_url(redis_cache.url).set(backend.make_key(store.key), planted)
    backend.set("kept", "value")
    with caplog.at_level(logging.WARNING, logger="edge.cache"):
        assert store.load() is None
        assert backend.get(store.key, "miss") == "miss"
        assert backend.get_many([store.key, "kept"]) == {"kept": "value"}
    assert not marker.exists()
    assert "read as a miss" in caplog.text
    assert backend.is_available  # a bad value is no Redis outage
    pickle.loads(planted)  # noqa: S301 - the control: these bytes do run code when unpickled
    assert marker.exists()


def test_the_production_cache_settings_never_unpickle(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    key = CachedJwksStore("default", JWKS_URL).key
    redis_key = default_key_func(key, "todo", 1)  # CACHE_KEY_PREFIX's default, version 1
    redis.Redis.from_url(redis_server.url).set(redis_key, pickle.dumps(Planted(marker)))
    load = (
        "import django; django.setup(); from authbridge.jwksstore import CachedJwksStore; "
        f"print(CachedJwksStore('default', {JWKS_URL!r}).load())"
    )
    result = run_python(
        "-c", load, DJANGO_DEBUG="1", BETTER_AUTH_SECRET="s" * 32, REDIS_URL=redis_server.url
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"
    assert not marker.exists()
    assert "read as a miss" in result.stderr
