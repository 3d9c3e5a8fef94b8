"""authbridge fixtures: real JWKS servers on loopback, a fake clock, verifier factories."""

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

from authbridge.config import MAX_JWKS_BYTES
from authbridge.fetch import Address
from authbridge.jwks import FetchedJwks
from authbridge.keys import PinnedJwks, parse_jwks
from authbridge.verify import Verifier
from tests.conftest import TEST_ISSUER, TEST_SECRET, TestKeys

MODES = ("ok", "fail", "close", "huge", "hang", "redirect", "text", "drip", "deep")
DRIP_PIECES = 30
DEEP_JSON = b"[" * 30_000 + b"]" * 30_000  # under MAX_JWKS_BYTES, too deep for json.loads


@dataclass
class JwksServer:
    """Serves ``document`` on any path and counts requests.

    ``mode``: "ok"; "fail" (HTTP 500); "close" (connection closed without an answer);
    "huge" (the same JWKS padded past MAX_JWKS_BYTES, so only its size is wrong);
    "hang" (no answer until the test ends); "redirect" (302 to ``redirect_to``);
    "text" (the JWKS as text/plain); "drip" (the JWKS in DRIP_PIECES pieces, ``drip_seconds``
    apart: each gap is shorter than the timeout, the whole is longer); "deep" (JSON nested too
    deeply to parse). ``delay_seconds``: the handler thread sleeps first (a slow server).
    ``completed`` is set when a handler sent its whole answer, ``done`` when it ended anyhow.
    """

    document: dict[str, Any]
    mode: str = "ok"
    delay_seconds: float = 0.0
    drip_seconds: float = 0.1
    redirect_to: str = ""
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    completed: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def body(self) -> bytes:
        if self.mode == "huge":
            return json.dumps({**self.document, "padding": "x" * MAX_JWKS_BYTES}).encode()
        if self.mode == "deep":
            return DEEP_JSON
        return json.dumps(self.document).encode()


def serve(state: JwksServer, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.requests += 1
                state.paths.append(self.path)
            try:
                self.answer()
                state.completed.set()
            except OSError:
                pass  # the client gave up (a deadline): expected for "drip"
            finally:
                state.done.set()

        def answer(self) -> None:
            if state.delay_seconds:
                time.sleep(state.delay_seconds)  # the server is slow, not the test
            if state.mode == "hang":
                state.release.wait(60)
                return
            if state.mode == "close":
                self.close_connection = True
                return
            if state.mode == "fail":
                self.send_error(500)
                return
            if state.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = state.body()
            self.send_response(200)
            content_type = "text/plain" if state.mode == "text" else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.mode != "drip":
                self.wfile.write(body)
                return
            size = -(-len(body) // DRIP_PIECES)
            for start in range(0, len(body), size):
                time.sleep(state.drip_seconds)
                self.wfile.write(body[start : start + size])
                self.wfile.flush()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up on a hanging handler is expected here

    server = Server(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/jwks"
    # A short poll interval keeps shutdown() (once per test) from costing half a second.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def jwks_server_factory(keys: TestKeys) -> Iterator[Callable[..., JwksServer]]:
    """``jwks_server_factory(document=None, tls=None)`` starts one more server (default: all
    test keys; HTTPS with the server context ``tls``)."""
    servers: list[ThreadingHTTPServer] = []
    states: list[JwksServer] = []

    def start(
        document: dict[str, Any] | None = None, tls: ssl.SSLContext | None = None
    ) -> JwksServer:
        state = JwksServer(document=document if document is not None else keys.jwks())
        states.append(state)
        servers.append(serve(state, tls))
        return state

    yield start
    for state in states:
        state.release.set()  # hanging handlers end with the test
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def jwks_server(jwks_server_factory: Callable[..., JwksServer]) -> JwksServer:
    return jwks_server_factory()


@pytest.fixture
def use_jwks_server(settings: Any, jwks_server: JwksServer) -> JwksServer:
    """The app fetches its keys from jwks_server over HTTP (no pinned JWKS)."""
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_JWKS_URL = jwks_server.url
    settings.BETTER_AUTH_JWKS_TIMEOUT_SECONDS = 2.0
    return jwks_server


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Loopback:
    """A resolver for fetch_json: every name is 127.0.0.1; records the names it was asked for."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[Address]:
        self.hosts.append(host)
        return socket.getaddrinfo("127.0.0.1", port, type=socket.SOCK_STREAM)


class FakeFetch:
    """Returns ``document`` (or raises ``error``) and records each call's arguments."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.error: Exception | None = None
        self.calls: list[tuple[str, float, int]] = []

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> Mapping[str, Any]:
        self.calls.append((url, timeout, max_bytes))
        if self.error is not None:
            raise self.error
        return self.document


@pytest.fixture
def fetch(keys: TestKeys) -> FakeFetch:
    """A fake fetch serving the EdDSA and ES256 test keys."""
    return FakeFetch(keys.jwks(("EdDSA", "ES256")))


def fake_jwks_source(
    fetch: Any, clock: FakeClock, *, url: str = "http://jwks.test", **options: Any
) -> FetchedJwks:
    """A FetchedJwks with the tests' policy (TTL 300, cooldown 30, timeout 3, staleness 300)
    over a fake fetch; ``clock`` is its monotonic clock (``wall_clock=`` sets the other)."""
    policy: dict[str, Any] = {"ttl": 300, "cooldown": 30, "timeout": 3, "max_bytes": 64_000}
    return FetchedJwks(url, fetch=fetch, clock=clock, **{**policy, **options})


def make_verifier(
    *,
    jwks: Any = None,
    secrets: tuple[str, ...] = (TEST_SECRET,),
    issuer: str = TEST_ISSUER,
    audiences: tuple[str, ...] = (TEST_ISSUER,),
    leeway_seconds: int = 10,
    max_lifetime_seconds: int = 86_400,
) -> Verifier:
    return Verifier(
        jwks=jwks,
        secrets=secrets,
        issuer=issuer,
        audiences=audiences,
        leeway_seconds=leeway_seconds,
        max_lifetime_seconds=max_lifetime_seconds,
    )


@pytest.fixture
def pinned_verifier(keys: TestKeys) -> Verifier:
    """A verifier over all the test keys (pinned) and TEST_SECRET; no settings involved."""
    return make_verifier(jwks=PinnedJwks(parse_jwks(keys.jwks())))


@pytest.fixture
def fetched_source(jwks_server: JwksServer, clock: FakeClock) -> FetchedJwks:
    """Real HTTP to jwks_server, a fake clock for the cache policy (TTL 300, cooldown 30)."""
    return FetchedJwks(
        jwks_server.url,
        clock=clock,
        ttl=300,
        cooldown=30,
        timeout=2.0,
        max_bytes=MAX_JWKS_BYTES,
    )


@pytest.fixture
def fetched_verifier(fetched_source: FetchedJwks) -> Verifier:
    return make_verifier(jwks=fetched_source)


class BrokenCache(BaseCache):
    """A cache backend whose server is down (e.g. Redis): every call raises."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        raise ConnectionError("cache server down")

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        raise ConnectionError("cache server down")


def bearer(token: str) -> dict[str, str]:
    """Request headers for the Django test client: ``client.get(path, headers=bearer(t))``."""
    return {"Authorization": f"Bearer {token}"}
