"""authbridge fixtures: a real JWKS server on loopback, a fake clock, a verifier factory."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from authbridge.keys import FetchedJwks
from authbridge.verify import Verifier
from tests.conftest import TEST_ISSUER, TEST_SECRET, TestKeys


@dataclass
class JwksServer:
    """Serves ``document`` at /jwks; ``mode`` = "ok" | "fail" | "hang" | "huge"; counts requests."""

    document: dict[str, Any]
    mode: str = "ok"
    hang_seconds: float = 2.0
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def jwks_server(keys: TestKeys) -> Iterator[JwksServer]:
    state = JwksServer(document=keys.jwks())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state.lock:
                state.requests += 1
                state.paths.append(self.path)
            if state.mode == "hang":
                time.sleep(state.hang_seconds)
            if state.mode == "fail":
                self.send_response(500)
                self.end_headers()
                return
            body = json.dumps(state.document).encode()
            if state.mode == "huge":
                body = json.dumps({"keys": [], "pad": "x" * 100_000}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetched_verifier(jwks_server: JwksServer, clock: FakeClock) -> Verifier:
    """A verifier over real HTTP to jwks_server, with a fake clock for the cache policy."""
    source = FetchedJwks(
        jwks_server.url, clock=clock, ttl=300, cooldown=30, timeout=0.5, max_bytes=64_000
    )
    return Verifier(
        jwks=source,
        secrets=(TEST_SECRET,),
        issuer=TEST_ISSUER,
        audiences=(TEST_ISSUER,),
        leeway_seconds=10,
    )


@pytest.fixture
def use_jwks_server(settings: Any, jwks_server: JwksServer) -> JwksServer:
    """Configure the app (settings) to fetch its keys from jwks_server."""
    settings.BETTER_AUTH_JWKS = ""
    settings.BETTER_AUTH_JWKS_URL = jwks_server.url
    settings.JWKS_TIMEOUT_SECONDS = 0.5
    return jwks_server
