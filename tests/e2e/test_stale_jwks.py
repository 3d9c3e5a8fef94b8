"""A real Better Auth rotates its key while a caching proxy in front of it still serves the old
JWKS: the new key's tokens are 503 (ask again), never 401, and accepted once the proxy catches up.
"""

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.conftest import Api, BetterAuthServer

pytestmark = pytest.mark.django_db(transaction=True)

PROXY_CACHE_SECONDS = (
    3.0  # how stale the proxy's copy gets: well under BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS
)


class StaleProxy:
    """GET anything -> Better Auth's JWKS, answered from a copy kept for ``max_age`` seconds."""

    def __init__(self, upstream: str, max_age: float) -> None:
        self.upstream, self.max_age = upstream, max_age
        self.copy: tuple[float, bytes] | None = None
        self.served_stale = 0
        self.lock = threading.Lock()

    def body(self) -> bytes:
        with self.lock:
            now = time.monotonic()
            if self.copy is not None and now - self.copy[0] < self.max_age:
                self.served_stale += 1
                return self.copy[1]
            with urllib.request.urlopen(self.upstream, timeout=5) as reply:
                self.copy = (now, reply.read())
            return self.copy[1]


@pytest.fixture
def stale_proxy(better_auth: BetterAuthServer) -> Iterator[Callable[[BetterAuthServer], str]]:
    servers: list[ThreadingHTTPServer] = []
    proxies: list[StaleProxy] = []

    def start(server: BetterAuthServer) -> str:
        proxy = StaleProxy(f"{server.auth_url}/jwks", PROXY_CACHE_SECONDS)
        proxies.append(proxy)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = proxy.body()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        http_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(http_server)
        threading.Thread(target=http_server.serve_forever, args=(0.05,), daemon=True).start()
        return f"http://127.0.0.1:{http_server.server_address[1]}/api/auth/jwks"

    yield start
    for http_server in servers:
        http_server.shutdown()
        http_server.server_close()
    assert proxies, "no test started the proxy"
    assert all(proxy.served_stale for proxy in proxies)  # the proxy really was in the way


def test_a_rotation_behind_a_stale_jwks_is_503_until_it_arrives_never_401(
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    stale_proxy: Callable[[BetterAuthServer], str],
    api: Api,
) -> None:
    server = start_better_auth()
    trust(
        server,
        BETTER_AUTH_JWKS_URL=stale_proxy(server),
        BETTER_AUTH_JWKS_REFRESH_COOLDOWN_SECONDS=1.0,
    )
    user = server.sign_up("Kim")
    assert api("GET", "/me", user.jwt()).status == 200  # the proxy now holds the JWKS

    server.rotate_key()
    new_token = user.jwt()
    statuses = []
    for _ in range(30):  # the client does what each 503 says; no clock is asserted
        reply = api("GET", "/me", new_token)
        statuses.append(reply.status)
        if reply.status != 503:
            break
        time.sleep(int(reply.headers["retry-after"]))
    assert statuses[0] == 503  # fetched through the proxy: the old document, no new key yet
    assert statuses[-1] == 200  # the proxy's copy expired and the new key arrived
    assert 401 not in statuses


def test_a_token_from_another_better_auth_is_401_once_a_fetch_proves_it(
    better_auth: BetterAuthServer,
    start_better_auth: Callable[..., BetterAuthServer],
    trust: Callable[..., None],
    api: Api,
) -> None:
    """Same issuer and audience would be needed to get this far; its kid is its own."""
    stranger = start_better_auth()
    token = stranger.sign_up("Eve").jwt()
    trust(
        better_auth,
        BETTER_AUTH_URL=stranger.url,
        BETTER_AUTH_JWKS_URL=f"{better_auth.auth_url}/jwks",
    )
    first = api("GET", "/me", token)  # issued just now: a key newer than the fetch is possible
    assert (first.status, "retry-after" in first.headers) == (503, True)
    trust(
        better_auth,
        BETTER_AUTH_URL=stranger.url,
        BETTER_AUTH_JWKS_URL=f"{better_auth.auth_url}/jwks",
        BETTER_AUTH_JWKS_MAX_STALENESS_SECONDS=0.0,  # every fetch is current: absence proves
    )
    refused = api("GET", "/me", token)
    assert refused.status == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
