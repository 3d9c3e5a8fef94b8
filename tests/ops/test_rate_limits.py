"""Per-user rate limits (RATE_LIMIT_READS / RATE_LIMIT_WRITES): 429 + Retry-After + detail."""

import hashlib
import time
from typing import Any, ClassVar

import pytest
from django.test import Client

from authbridge import Identity
from edge.counters import CountUnavailable, check_counter
from edge.throttles import PerUserThrottle
from scripts.harness import RedisServer
from tests.conftest import TokenFactory

pytestmark = pytest.mark.django_db


def create(client: Client, user: str, token: str) -> Any:
    return client.post(
        f"/api/{user}/tasks",
        {"title": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """10 s into a minute window, so the whole test runs in one window (no timed assertion)."""
    monkeypatch.setattr(PerUserThrottle, "timer", staticmethod(lambda: 1_000_020.0 + 10))


@pytest.mark.usefixtures("frozen_clock")
def test_writes_past_the_limit_answer_429_with_retry_after(
    client: Client, make_token: TokenFactory, settings: Any
) -> None:
    settings.RATE_LIMIT_WRITES = "3/min"
    token = make_token(sub="ann")
    assert [create(client, "ann", token).status_code for _ in range(3)] == [201, 201, 201]
    refused = create(client, "ann", token)
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests."}
    assert refused["Retry-After"] == "50"  # the window ends 50 s later
    # Reads have their own budget: a user who may not write can still see their tasks.
    listed = client.get("/api/ann/tasks", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert listed.status_code == 200
    assert listed.json()["count"] == 3


@pytest.mark.usefixtures("frozen_clock")
def test_the_limit_follows_the_user_not_the_token(
    client: Client, make_token: TokenFactory, settings: Any
) -> None:
    settings.RATE_LIMIT_WRITES = "2/min"
    now = int(time.time())
    # Fresh tokens (new iat/exp) must not buy a fresh budget.
    tokens = [make_token(sub="ann", iat=now - n, exp=now + 900 - n) for n in range(3)]
    assert len(set(tokens)) == 3
    assert [create(client, "ann", t).status_code for t in tokens] == [201, 201, 429]
    assert create(client, "bob", make_token(sub="bob")).status_code == 201


@pytest.mark.usefixtures("frozen_clock")
def test_reads_past_the_limit_answer_429(
    client: Client, make_token: TokenFactory, settings: Any
) -> None:
    settings.RATE_LIMIT_READS = "2/min"
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {make_token(sub='ann')}"}
    codes = [client.get("/api/ann/tasks", **headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/api/me", **headers).status_code == 429  # every authenticated read
    assert create(client, "ann", make_token(sub="ann")).status_code == 201


def test_probes_are_never_throttled(client: Client, settings: Any) -> None:
    settings.RATE_LIMIT_READS = "1/min"
    assert [client.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.usefixtures("frozen_clock")
def test_limits_count_in_redis(
    redis_cache: RedisServer, client: Client, make_token: TokenFactory, settings: Any
) -> None:
    settings.RATE_LIMIT_WRITES = "2/min"
    token = make_token(sub="ann")
    assert [create(client, "ann", token).status_code for _ in range(3)] == [201, 201, 429]
    # Another process (a new backend object) sees the same counter.
    from django.core.cache import caches

    other = caches.create_connection("default")
    user = hashlib.sha256(b"ann").hexdigest()[:32]
    assert other.get(f"throttle:writes:{user}:{1_000_030 // 60}") == 3


class RacedCache:
    """Another worker creates the window's counter between our ``incr`` and our ``add``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls: list[str] = []

    def incr(self, key: str) -> int:
        self.calls.append("incr")
        if key not in self.counts:
            self.counts[key] = 1  # the other worker's add lands now
            raise ValueError(key)
        self.counts[key] += 1
        return self.counts[key]

    def add(self, key: str, value: int, timeout: int) -> bool:
        self.calls.append("add")
        return False


@pytest.mark.usefixtures("frozen_clock")
def test_a_worker_that_loses_the_race_to_create_the_counter_still_counts(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    raced = RacedCache()
    monkeypatch.setattr("edge.counters.caches", {"default": raced})
    settings.RATE_LIMIT_WRITES = "1/min"
    throttle = PerUserThrottle(scope="writes", setting="RATE_LIMIT_WRITES", reads=False)
    request = type("Request", (), {"method": "POST", "auth": Identity("ann", None, None, {})})()
    assert throttle.allow_request(request) is False  # the other worker's request was the 1st
    assert raced.calls == ["incr", "add", "incr"]


def test_a_count_in_redis_is_one_round_trip_and_the_counter_expires(
    redis_cache: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    client: Client,
    make_token: TokenFactory,
) -> None:
    import redis
    from django.core.cache import caches

    from edge.cache import FailOpenRedisCache

    cache = caches["default"]
    assert isinstance(cache, FailOpenRedisCache)
    assert cache.count("warm-up", timeout=5) == 1  # opens the connection
    sent: list[bytes] = []
    original = redis.connection.Connection.send_packed_command

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command if isinstance(command, bytes) else b"".join(command))
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", send)
    assert [cache.count("c", timeout=61) for _ in range(3)] == [1, 2, 3]
    assert len(sent) == 3  # one command, one answer per count: the script, by its digest
    script = cache._cache.counting_script()  # type: ignore[attr-defined]  # Django's private name
    assert all(packet.startswith(b"*5\r\n$7\r\nEVALSHA\r\n") for packet in sent), sent
    assert all(script.sha.encode() in packet for packet in sent)
    # A throttled API request counts the same way: one packet to Redis, nothing else.
    sent.clear()
    token = make_token(sub="ann")
    assert client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert len(sent) == 1, sent
    assert sent[0].startswith(b"*5\r\n$7\r\nEVALSHA\r\n")
    monkeypatch.undo()
    assert cache.get("c") == 3  # a plain integer, as Django stores ints
    direct = redis.Redis.from_url(redis_cache.url)
    assert 0 < direct.ttl(cache.make_and_validate_key("c")) <= 61
    # The expiry is set by the first count of a counter, never left out (the script is atomic).
    direct.persist(cache.make_and_validate_key("c"))
    assert cache.count("c", timeout=61) == 4
    assert direct.ttl(cache.make_and_validate_key("c")) == -1  # a later count leaves it alone
    assert cache.count("new", timeout=61) == 1
    assert 0 < direct.ttl(cache.make_and_validate_key("new")) <= 61


def test_a_count_while_redis_is_down_lets_the_request_through(
    redis_cache: RedisServer, client: Client, make_token: TokenFactory, settings: Any
) -> None:
    settings.RATE_LIMIT_WRITES = "1/min"
    redis_cache.stop()
    token = make_token(sub="ann")
    assert [create(client, "ann", token).status_code for _ in range(2)] == [201, 201]


class DownCounter:
    """A counter whose backend is known to be down: it must not even be asked to count."""

    asked: ClassVar[list[str]] = []

    def available(self) -> bool:
        return False

    def count(self, key: str, window: int) -> int:
        self.asked.append(key)
        return 1_000


class FailingCounter:
    """A counter whose backend fails on the count itself."""

    def available(self) -> bool:
        return True

    def count(self, key: str, window: int) -> int:
        raise CountUnavailable(key)


class OverCounter(FailingCounter):
    """The control: a counter that works and is past every limit."""

    def count(self, key: str, window: int) -> int:
        return 1_000


@pytest.mark.parametrize(
    ("counter", "status"),
    [
        pytest.param("DownCounter", 201, id="unavailable-is-not-asked"),
        pytest.param("FailingCounter", 201, id="failing-count-fails-open"),
        pytest.param("OverCounter", 429, id="control-past-the-limit"),
    ],
)
def test_the_throttle_fails_open_on_the_counting_protocol(
    client: Client, make_token: TokenFactory, settings: Any, counter: str, status: int
) -> None:
    settings.RATE_LIMIT_COUNTER = f"{__name__}.{counter}"
    settings.RATE_LIMIT_WRITES = "1/min"
    DownCounter.asked.clear()
    assert create(client, "ann", make_token(sub="ann")).status_code == status
    assert DownCounter.asked == []


@pytest.mark.parametrize(
    ("counter", "backend", "ids"),
    [
        pytest.param("edge.counters.CacheCounter", "locmem.LocMemCache", [], id="plain-cache"),
        pytest.param(
            "edge.counters.RedisCounter", "locmem.LocMemCache", ["edge.E002"],
            id="pipeline-needs-redis",
        ),
        pytest.param("edge.counters.Nope", "locmem.LocMemCache", ["edge.E001"], id="unknown"),
    ],
)  # fmt: skip
def test_check_counter(settings: Any, counter: str, backend: str, ids: list[str]) -> None:
    settings.RATE_LIMIT_COUNTER = counter
    settings.CACHES = {"default": {"BACKEND": f"django.core.cache.backends.{backend}"}}
    assert [message.id for message in check_counter()] == ids


def test_check_counter_accepts_the_pipeline_on_redis(redis_cache: RedisServer) -> None:
    assert check_counter() == []
