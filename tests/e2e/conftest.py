"""Start real Better Auth servers (tests/e2e/better_auth) and talk to them over HTTP only."""

import json
import os
import queue
import secrets
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from scripts.harness import stop
from tests.processes import npm_ci

NODE_PROJECT = Path(__file__).parent / "better_auth"
# `make test-e2e-latest` points this at a copy of NODE_PROJECT with the newest better-auth.
LATEST_PROJECT_VARIABLE = "E2E_BETTER_AUTH_PROJECT"
START_TIMEOUT_SECONDS = 30
E2E_SECRET = secrets.token_urlsafe(40)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if NODE_PROJECT.parent in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def node_project() -> Path:
    """`npm ci` once per lockfile change; without node/npm: skip locally, fail in CI."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed: the Better Auth e2e tests need them"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    if os.environ.get(LATEST_PROJECT_VARIABLE):
        return Path(os.environ[LATEST_PROJECT_VARIABLE])  # installed by scripts/e2e_latest.sh
    npm_ci(NODE_PROJECT)
    return NODE_PROJECT


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    cookies: dict[str, str] = field(default_factory=dict)  # from Set-Cookie, values as sent


def http(
    method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> Response:
    """One HTTP call with the stdlib; JSON in and out; errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            status, raw, got = reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), error.headers
    text = raw.decode()
    try:
        parsed = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = text
    # one Set-Cookie header per cookie: the headers dict would keep only the last
    pairs = (c.split(";", 1)[0].partition("=") for c in got.get_all("Set-Cookie") or [])
    cookies = {name.strip(): value for name, _, value in pairs}
    return Response(status, {k.lower(): v for k, v in got.items()}, parsed, cookies)


@dataclass
class BetterAuthUser:
    """A signed-in Better Auth user, driven like a frontend would (bearer session token)."""

    server: "BetterAuthServer"
    id: str
    email: str
    name: str
    session_token: str = field(repr=False)
    cookies: dict[str, str] = field(repr=False)  # what sign-in set

    def call(self, method: str, route: str) -> Response:
        """A Better Auth route ("/token"), wherever Better Auth is mounted."""
        headers = {"Authorization": f"Bearer {self.session_token}"}
        return http(method, f"{self.server.auth_url}{route}", headers=headers)

    def jwt(self) -> str:
        """authClient.token(): GET /api/auth/token."""
        reply = self.call("GET", "/token")
        assert reply.status == 200, reply.body
        return str(reply.body["token"])

    def session_jwt(self) -> str:
        """The `set-auth-jwt` header that get-session returns."""
        reply = self.call("GET", "/get-session")
        assert reply.status == 200, reply.body
        return reply.headers["set-auth-jwt"]

    def hs256_token(self) -> str:
        """What a Next.js server does with jose and BETTER_AUTH_SECRET."""
        headers = {"Authorization": f"Bearer {self.session_token}"}
        reply = http("POST", f"{self.server.origin}/test/hs256-token", headers=headers)
        assert reply.status == 200, reply.body
        return str(reply.body["token"])

    def sign_out(self) -> None:
        assert self.call("POST", "/sign-out").status == 200


@dataclass
class BetterAuthServer:
    url: str  # its BETTER_AUTH_URL, as given
    auth_url: str  # where Better Auth says its routes are (its context's baseURL), no "/"
    secret: str
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def origin(self) -> str:
        """scheme://host:port, where the test routes are."""
        return "{0.scheme}://{0.netloc}".format(urlsplit(self.url))

    def sign_up(self, name: str, password: str = "correct-horse-battery") -> BetterAuthUser:
        email = f"{name.lower()}-{secrets.token_hex(4)}@example.com"
        body = {"email": email, "password": password, "name": name}
        reply = http("POST", f"{self.auth_url}/sign-up/email", body=body)
        assert reply.status == 200, reply.body
        signed_in = http(
            "POST",
            f"{self.auth_url}/sign-in/email",
            body={"email": email, "password": password},
        )
        assert signed_in.status == 200, signed_in.body
        user, token = signed_in.body["user"], signed_in.body["token"]
        return BetterAuthUser(self, user["id"], email, name, token, signed_in.cookies)

    def rotate_key(self) -> str:
        reply = http("POST", f"{self.origin}/test/rotate-key")
        assert reply.status == 200, reply.body
        return str(reply.body["kid"])


@contextmanager
def run_better_auth(project: Path, **env: str) -> Iterator[BetterAuthServer]:
    environment = {**os.environ, "BETTER_AUTH_SECRET": E2E_SECRET, "PORT": "0", **env}
    process = subprocess.Popen(
        ["node", "server.mjs"],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None

    def forward_lines() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=forward_lines, daemon=True).start()
    try:
        try:
            line = lines.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            line = ""
        if not line.startswith("READY "):
            process.kill()
            pytest.fail(f"Better Auth did not start: {line!r} {process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        _, url, auth_url = line.split()
        yield BetterAuthServer(url, auth_url.rstrip("/"), E2E_SECRET, process)
    finally:
        stop(process, timeout=10)


@pytest.fixture(scope="session")
def better_auth(node_project: Path) -> Iterator[BetterAuthServer]:
    """The default Better Auth: EdDSA keys, a base URL without a path, iss = aud = its URL."""
    with run_better_auth(node_project) as server:
        yield server


@pytest.fixture
def start_better_auth(node_project: Path) -> Iterator[Callable[..., BetterAuthServer]]:
    """Start a Better Auth with other options (BA_KEY_ALG, BA_BASE_PATH, ...) for one test."""
    with ExitStack() as stack:
        yield lambda **env: stack.enter_context(run_better_auth(node_project, **env))


@pytest.fixture
def trust(settings: Any) -> Callable[..., None]:
    """Point this service at a Better Auth server, as an operator would with env variables."""

    def configure(server: BetterAuthServer, **overrides: Any) -> None:
        settings.BETTER_AUTH_URL = server.url
        settings.BETTER_AUTH_JWKS = ""
        settings.BETTER_AUTH_JWKS_URL = ""
        settings.BETTER_AUTH_ISSUER = ""
        settings.BETTER_AUTH_AUDIENCE = []
        settings.BETTER_AUTH_SECRET = server.secret
        for name, value in overrides.items():
            setattr(settings, name, value)

    return configure


@dataclass
class Api:
    """This service, called over real HTTP (pytest-django's live server)."""

    base: str

    def __call__(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return http(method, f"{self.base}/api{path}", body=body, headers=headers)


@pytest.fixture
def api(live_server: Any) -> Api:
    return Api(live_server.url)
