"""The whole topology under faults (scripts/stack.py): nginx -> two gunicorn instances ->
PostgreSQL and Redis, all our own processes on loopback. Run with ``make test-stack``.

Concurrent clients create tasks with an Idempotency-Key and retry failures with the same key
while one gunicorn instance is killed and restarted and PostgreSQL is restarted. Afterwards every
create ever answered 2xx is in the database exactly once, no answer was a 500, and 503s came only
while the database was down.
"""

import http.client
import json
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts.harness import (
    CORS_ORIGINS,
    free_port,
    postgres_bin_dirs,
    render_nginx_site,
    start_nginx,
    stop,
    wait_for_http,
    wait_until,
)
from scripts.stack import METRICS_TOKEN, Stack
from tests.authbridge.conftest import JwksServer, serve
from tests.conftest import TEST_ISSUER, TEST_SECRET, TestKeys, TokenFactory
from tests.ops.servers import require_binary

pytestmark = [
    pytest.mark.stack,
    # A client thread that crashed would otherwise only warn, and its keys would go unchecked.
    pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning"),
]

CLIENTS = 4
MAX_CREATES_PER_CLIENT = 2000  # clients stop when the faults are over, long before this
MAX_ATTEMPTS = 200  # per key; a retry waits RETRY_PAUSE_SECONDS, so ~40 s at most
RETRY_PAUSE_SECONDS = 0.2
RETRYABLE = {0, 502, 503, 504}  # 0: the connection itself failed
DB_RESTART_GRACE_SECONDS = 3.0  # requests already in flight when PostgreSQL came back
READ_LIMIT = 20


@dataclass
class Answer:
    status: int
    at: float
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, got = error.read(), error.code, dict(error.headers)
    except (OSError, http.client.HTTPException):  # refused, reset, cut short
        return Answer(0, time.monotonic())
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, time.monotonic(), parsed, got)


@pytest.fixture(scope="module")
def jwks(keys: TestKeys) -> Iterator[JwksServer]:
    state = JwksServer(document=keys.jwks(("EdDSA",)))
    server = serve(state)
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack(jwks: JwksServer) -> Iterator[Stack]:
    for binary in ("nginx", "redis-server"):
        require_binary(binary)
    require_binary("initdb", *postgres_bin_dirs())
    workdir = Path(tempfile.mkdtemp(prefix="todo-stack-test-"))
    app_env = {
        "BETTER_AUTH_JWKS_URL": jwks.url,
        "BETTER_AUTH_SECRET": TEST_SECRET,  # for the token make stack prints
        "BETTER_AUTH_ISSUER": TEST_ISSUER,
        "BETTER_AUTH_AUDIENCE": TEST_ISSUER,
        "JWKS_CACHE_SECONDS": "300",
        "RATE_LIMIT_READS": f"{READ_LIMIT}/min",
        "RATE_LIMIT_WRITES": "100000/min",
        "DATABASE_CONNECT_TIMEOUT": "2",
    }
    # Every client comes from 127.0.0.1: nginx's per-IP limit must not be what we measure.
    running = Stack(workdir, app_env=app_env, per_ip_rate="2000r/s", per_ip_burst=2000)
    running.start()
    yield running
    running.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Client:
    """One user creating tasks, each with its own key, retried with that key until 2xx."""

    url: str
    user: str
    token: str
    answers: list[Answer] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # key -> task id
    refused: dict[str, Answer] = field(default_factory=dict)  # key -> a non-retryable answer
    started: int = 0

    def run(self, progress: "Progress") -> None:
        for n in range(MAX_CREATES_PER_CLIENT):
            if progress.stopped.is_set():
                return
            key = f"{self.user}-{n}"
            self.started += 1
            for _ in range(MAX_ATTEMPTS):
                answer = call(
                    "POST",
                    f"{self.url}/api/{self.user}/tasks",
                    token=self.token,
                    body={"title": f"task {n}"},
                    key=key,
                )
                self.answers.append(answer)
                if 200 <= answer.status < 300:
                    self.acknowledged[key] = answer.body["id"]
                    break
                if answer.status not in RETRYABLE:
                    self.refused[key] = answer
                    break
                time.sleep(RETRY_PAUSE_SECONDS)
            progress.tick()


class Progress:
    def __init__(self) -> None:
        self.done = 0
        self.condition = threading.Condition()
        self.stopped = threading.Event()

    def tick(self) -> None:
        with self.condition:
            self.done += 1
            self.condition.notify_all()

    def wait_for_more(self, count: int, *, timeout: float = 120.0) -> None:
        with self.condition:
            target = self.done + count
            assert self.condition.wait_for(lambda: self.done >= target, timeout=timeout), (
                f"only {self.done} creates finished, waited for {target}"
            )


def test_faults_lose_no_acknowledged_create(stack: Stack, make_token: TokenFactory) -> None:
    clients = [
        Client(stack.url, user, make_token("EdDSA", sub=user, exp=int(time.time()) + 3600))
        for user in (f"stack-user-{n}" for n in range(CLIENTS))
    ]
    progress = Progress()
    threads = [threading.Thread(target=c.run, args=(progress,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()

    progress.wait_for_more(20)
    stack.kill_app(0)  # SIGKILL mid-traffic: in-flight requests on it get no answer
    progress.wait_for_more(20)
    stack.start_app(0)
    progress.wait_for_more(20)
    db_down_at = time.monotonic()
    stack.stop_postgres()
    time.sleep(1.0)  # clients keep sending while it is down
    stack.start_postgres()
    wait_for_http(f"{stack.url}/api/ready", what="ready after the restart")
    db_back_at = time.monotonic() + DB_RESTART_GRACE_SECONDS
    progress.wait_for_more(20)
    progress.stopped.set()

    for thread in threads:
        thread.join(timeout=MAX_ATTEMPTS * RETRY_PAUSE_SECONDS + 60)
        assert not thread.is_alive()

    answers = [a for c in clients for a in c.answers]
    statuses = {a.status for a in answers}
    assert 500 not in statuses
    assert statuses <= {201, *RETRYABLE}, statuses
    assert 503 in statuses  # the clients did run into the database restart
    assert not [c.refused for c in clients if c.refused]
    stray_503s = [a.at for a in answers if a.status == 503 and not db_down_at <= a.at <= db_back_at]
    assert not stray_503s, "503 outside the database restart"
    assert all(a.headers.get("Retry-After") for a in answers if a.status == 503)

    with psycopg.connect(stack.database_url.replace("postgres://", "postgresql://")) as db:
        for client in clients:
            # Every key a client started was retried until it got through.
            assert len(client.acknowledged) == client.started > 0
            tasks = db.execute(
                "SELECT id FROM tasks_task WHERE user_id = %s", (client.user,)
            ).fetchall()
            records: dict[str, int] = dict(
                db.execute(
                    "SELECT key, task_id FROM tasks_idempotencyrecord WHERE user_id = %s",
                    (client.user,),
                ).fetchall()
            )
            # Exactly once: one task per key, and the task each 2xx named is that one.
            assert len(tasks) == len(client.acknowledged)
            assert records == client.acknowledged
            assert {row[0] for row in tasks} == set(client.acknowledged.values())


def test_rate_limits_hold_across_both_instances(stack: Stack, make_token: TokenFactory) -> None:
    token = make_token("EdDSA", sub="stack-reader")
    # Start at the beginning of a one-minute window so all the reads fall into one.
    wait_until(lambda: time.time() % 60 < 30, what="the first half of a minute", timeout=40)
    answers = [
        call("GET", f"http://127.0.0.1:{port}/api/stack-reader/tasks", token=token)
        for _ in range(READ_LIMIT)
        for port in stack.app_ports
    ]  # alternating instances, twice the limit in all
    assert [a.status for a in answers].count(200) == READ_LIMIT
    assert [a.status for a in answers].count(429) == READ_LIMIT
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers if a.status == 429)


def test_slow_clients_wait_in_nginx_not_in_gunicorn(stack: Stack) -> None:
    # Clients that never finish their headers: straight at gunicorn they would hold its threads.
    idle = [socket.create_connection(("127.0.0.1", stack.nginx_port)) for _ in range(40)]
    try:
        for sock in idle:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = call("GET", f"{stack.url}/api/health")
        assert answer.status == 200
    finally:
        for sock in idle:
            sock.close()


def test_proxy_limits_bodies_and_hides_metrics(stack: Stack, make_token: TokenFactory) -> None:
    token = make_token("EdDSA", sub="stack-big")
    big = call(
        "POST", f"{stack.url}/api/stack-big/tasks", token=token, body={"title": "x" * 70_000}
    )
    assert big.status == 413
    assert call("GET", f"{stack.url}/metrics").status == 404
    scrape = f"http://127.0.0.1:{stack.metrics_port}/metrics/{stack.app_ports[1]}"
    assert call("GET", scrape).status == 404  # the token is required through the listener
    assert call("GET", scrape, token=METRICS_TOKEN).status == 200
    other = f"http://127.0.0.1:{stack.metrics_port}/metrics/{stack.pg_port}"
    assert call("GET", other, token=METRICS_TOKEN).status == 404  # only the listed instances


def scraped_count(port: int, route: str) -> float:
    text = call("GET", f"http://127.0.0.1:{port}/metrics", token=METRICS_TOKEN).body
    total = 0.0
    for line in str(text).splitlines():
        if line.startswith("http_request_duration_seconds_count{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_every_worker_of_an_instance(stack: Stack) -> None:
    port = stack.app_ports[1]
    before = scraped_count(port, "api/health")
    for _ in range(40):  # one connection each, so both workers take some
        assert call("GET", f"http://127.0.0.1:{port}/api/health").status == 200
    assert scraped_count(port, "api/health") == before + 40
    worker_files = list((stack.workdir / "metrics-1").glob("histogram_*.db"))
    assert len(worker_files) >= 2


def test_jwks_is_fetched_about_once_for_the_whole_stack(stack: Stack, jwks: JwksServer) -> None:
    # Runs last: by now two instances of two workers each, one of them killed and restarted,
    # have verified EdDSA tokens. They share the last good JWKS through Redis
    # (JWKS_CACHE_ALIAS), so within one cache lifetime (300 s) the stack fetches it about once:
    # a second fetch only when two cold workers race before the first one saved it.
    assert 1 <= jwks.requests <= 2


def test_make_stack_prints_a_token_the_stack_accepts(stack: Stack) -> None:
    # `make stack` prints a curl with this token; DEBUG is off in the stack, as in production.
    from scripts.stack import mint_token

    token = mint_token(stack)
    assert call("GET", f"{stack.url}/api/me", token=token).status == 200


# --- nginx in front, both variants (deploy/nginx-todo-api*.conf.template) ----------------
ALLOWED_ORIGIN = CORS_ORIGINS[0]
PUBLIC_HOST = "api.example.com"
ADMIN_ADDRESS = "198.51.100.7"
CONTRACT_EXPOSED = "etag, location, retry-after, www-authenticate"


@dataclass
class Balanced:
    """The balancer variant in front of one instance with production settings (https
    redirect on, one public host name); the balancer's range is 127.0.0.0/8, so our requests
    come "from the balancer" and name the client in X-Forwarded-For."""

    url: str
    metrics_url: str
    app_port: int

    def call(self, method: str, path: str, *, client: str, **kwargs: Any) -> Answer:
        headers = {"Host": PUBLIC_HOST, "X-Forwarded-For": client, "X-Forwarded-Proto": "https"}
        headers.update(kwargs.pop("headers", {}))
        return call(method, f"{self.url}{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def balanced(stack: Stack) -> Balanced:
    app_port, nginx_port, metrics_port = free_port(), free_port(), free_port()
    stack.start_instance(
        "app-production", app_port, stack.workdir / "metrics-production",
        DJANGO_ALLOWED_HOSTS=PUBLIC_HOST, DJANGO_SECURE_SSL_REDIRECT="1",
    )  # fmt: skip
    site = render_nginx_site(
        listen=nginx_port, upstreams=[app_port], metrics_listen=metrics_port,
        per_ip_rate="1r/s", burst=5, admin_allow=(ADMIN_ADDRESS,),
        balancer_range="127.0.0.0/8",
    )  # fmt: skip
    prefix = stack.workdir / "nginx-balanced"
    stack.processes["nginx-balanced"] = start_nginx(prefix, site, log=prefix.with_suffix(".log"))
    url = f"http://127.0.0.1:{nginx_port}"
    wait_for_http(f"{url}/api/health", what="nginx (balancer variant)")
    return Balanced(url, f"http://127.0.0.1:{metrics_port}", app_port)


def test_behind_the_balancer_each_client_has_its_own_limit(balanced: Balanced) -> None:
    # 1 request/s and a burst of 5 per client address: 60 clients, one request each.
    spread = [balanced.call("GET", "/api/health", client=f"203.0.113.{n}") for n in range(60)]
    assert [a.status for a in spread] == [200] * 60
    # The same 60 requests from one client: nginx's own 429, in the API's shape.
    one = [
        balanced.call("GET", "/api/health", client="192.0.2.1", headers={"Origin": ALLOWED_ORIGIN})
        for _ in range(60)
    ]
    limited = [a for a in one if a.status == 429]
    assert len(limited) >= 50
    assert limited[0].body == {"detail": "Too many requests from this address."}
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    # A client cannot pick its address: what it wrote before the balancer's entry is ignored.
    forged = [
        balanced.call("GET", "/api/health", client=f"10.9.9.{n}, 192.0.2.1") for n in range(10)
    ]
    assert {a.status for a in forged} == {429}


def test_behind_the_balancer_its_https_is_passed_on(balanced: Balanced) -> None:
    # The app redirects plain HTTP to https: through the balancer's https it must not (nginx
    # used to overwrite the header with its own "http": every call answered 301 to itself).
    def status(proto: str, client: str) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection(balanced.url.removeprefix("http://"), timeout=10)
        headers = {"Host": PUBLIC_HOST, "X-Forwarded-For": client, "X-Forwarded-Proto": proto}
        connection.request("GET", "/api/me", headers=headers)
        response = connection.getresponse()
        connection.close()
        return response.status, response.getheader("Location")

    assert status("https", "203.0.113.70") == (401, None)
    assert status("http", "203.0.113.71") == (301, f"https://{PUBLIC_HOST}/api/me")


def test_nginx_errors_are_json_with_cors_for_the_allow_list_only(stack: Stack) -> None:
    big = {"title": "x" * 70_000}
    for origin, allowed in ((ALLOWED_ORIGIN, True), ("https://evil.example", False)):
        answer = call("POST", f"{stack.url}/api/u/tasks", body=big, headers={"Origin": origin})
        assert answer.status == 413
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body == {"detail": "The request body is larger than 64 KiB."}
        assert answer.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)
        assert answer.headers.get("Access-Control-Expose-Headers") == (
            CONTRACT_EXPOSED if allowed else None
        )
        assert answer.headers["X-Request-ID"]


def test_nginx_answers_json_502_with_retry_after_when_no_instance_answers(stack: Stack) -> None:
    nginx_port = free_port()
    site = render_nginx_site(
        listen=nginx_port, upstreams=[free_port()], metrics_listen=free_port(),
        per_ip_rate="100r/s", burst=100,
    )  # fmt: skip
    prefix = stack.workdir / "nginx-nothing-behind"
    process = start_nginx(prefix, site, log=prefix.with_suffix(".log"))
    try:
        url = f"http://127.0.0.1:{nginx_port}"
        wait_until(lambda: call("GET", f"{url}/api/health").status == 502, what="nginx")
        answer = call("GET", f"{url}/api/health", headers={"Origin": ALLOWED_ORIGIN})
        assert answer.status == 502
        assert answer.body == {"detail": "The service is unavailable for a moment."}
        assert answer.headers["Retry-After"] == "5"
        assert answer.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    finally:
        stop(process)


@pytest.mark.parametrize("method", ["PROPFIND", "INVENTED", "TRACE", "CONNECT", "BREW"])
def test_unknown_methods_stop_at_nginx(stack: Stack, method: str) -> None:
    answer = call(method, f"{stack.url}/api/health")
    assert answer.status == 405
    assert answer.body == {"detail": "Method not allowed."}
    assert answer.headers["Allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def test_admin_only_from_the_allow_list(balanced: Balanced) -> None:
    refused = balanced.call("GET", "/admin/login/", client="203.0.113.80")
    assert refused.status == 403
    assert refused.body == {"detail": "Forbidden."}
    allowed = balanced.call("GET", "/admin/login/", client=ADMIN_ADDRESS)
    assert allowed.status == 200
    assert "csrfmiddlewaretoken" in str(allowed.body)


def test_metrics_through_the_internal_listener_with_production_settings(
    balanced: Balanced,
) -> None:
    scrape = f"{balanced.metrics_url}/metrics/{balanced.app_port}"
    answer = call("GET", scrape, token=METRICS_TOKEN)
    assert answer.status == 200  # no https redirect, no DisallowedHost
    assert "http_request_duration_seconds_count" in str(answer.body)
    assert call("GET", scrape).status == 404  # the token is still required
    assert call("POST", scrape, token=METRICS_TOKEN).status == 403  # only GET
    # From an address the listener does not allow: refused before the token is looked at.
    outside = call("GET", scrape, token=METRICS_TOKEN, headers={"X-Forwarded-For": "10.1.2.3"})
    assert outside.status == 403
    assert call("GET", f"http://127.0.0.1:{balanced.app_port}/metrics").status == 404
