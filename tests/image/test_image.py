"""The container image (Dockerfile, `make image`), built and run with podman (issue 18 items 1, 7).

Built from a copy of the tracked files with what a checkout also holds planted in it (`.env`
files, `.venv`, `node_modules`, build output, each with a canary value), so the test proves
`.dockerignore` keeps them out. Then, against a PostgreSQL database created for
the test and our own Redis: the release command (check --deploy, migrate), the server on a free
port (health, the HEALTHCHECK, an authenticated read and write, non-root), two idle connections
that must not block a third request, and workers sized from the container's CPU quota.

Run with `make test-image` (.ci/run does); skipped locally, failed under CI=true, when podman
and friends cannot be installed or PostgreSQL does not answer.
"""

import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jwt
import psycopg
import pytest
from psycopg import sql

from scripts import podman as pm
from scripts.harness import RedisServer, free_port, production_env
from tests.ops.servers import redis_server, unavailable

pytestmark = pytest.mark.image

REPO = Path(__file__).resolve().parents[2]
TAG = "localhost/todo-api:image-test"
CANARY = f"canary-{uuid.uuid4().hex}"
# What a developer's checkout holds besides the tracked files: none of it may enter the image.
PLANTED = (
    ".env", ".env.production", "todo_project/.env", "deploy/container/.env",
    ".venv/lib/canary.py", "examples/nextjs/node_modules/canary/index.js",
    "staticfiles/canary.txt", "db.sqlite3", "dist/canary.whl",
)  # fmt: skip
POSTGRES = os.environ.get("IMAGE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
ISSUER = "https://app.example.com"
HOST = "api.example.com"
SECRET = secrets.token_urlsafe(32)
DJANGO_SECRET = secrets.token_urlsafe(50)


def require_podman() -> None:
    reason = pm.unavailable()
    if reason is None:
        try:
            pm.ensure_tools()
        except pm.ContainerError as error:
            reason = str(error)
    if reason is not None:
        unavailable(f"cannot build the container image: {reason}")


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = pm.run_podman(*args, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image built from a copy of the tracked files, with a checkout's extras planted in it
    (.env files, .venv, node_modules, build output), each holding a canary value."""
    require_podman()
    context = tmp_path_factory.mktemp("context")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        if (REPO / name).is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, context / name)
    for name in PLANTED:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(f"DJANGO_SECRET_KEY={CANARY}\nBETTER_AUTH_SECRET={CANARY}\n")
    started = time.monotonic()
    pm.build_app_image(context, tag=TAG)
    print(f"image: built {TAG} in {time.monotonic() - started:.0f} s")  # noqa: T201
    yield TAG
    podman("rmi", "--ignore", TAG, check=False)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A fresh database on the shared PostgreSQL, dropped afterwards."""
    name = f"todo_image_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES.replace("postgres://", "postgresql://", 1)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL at {POSTGRES} does not answer: {error}")
    yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def environment(database_url: str, redis: RedisServer) -> dict[str, str]:
    """Production settings: DEBUG off, behind a TLS-ending proxy (a platform's, or nginx)."""
    return production_env(
        allowed_hosts=HOST,
        secret_key=DJANGO_SECRET,
        https=True,
        inherit=False,  # the container's environment is its own
        DJANGO_BEHIND_PROXY="1",
        DATABASE_URL=database_url,
        REDIS_URL=redis.url,
        BETTER_AUTH_URL=ISSUER,
        BETTER_AUTH_SECRET=SECRET,
        CORS_ALLOWED_ORIGINS=ISSUER,
    )


def env_options(environment: dict[str, str]) -> list[str]:
    return [option for name, value in environment.items() for option in ("-e", f"{name}={value}")]


@pytest.fixture(scope="module")
def released(image: str, environment: dict[str, str]) -> str:
    """The one-shot release job: check --deploy (warnings fail it), then migrate."""
    done = podman(
        "run", "--rm", "--network=host", *env_options(environment), image, "release", timeout=300
    )
    output = done.stdout + done.stderr
    assert "Applying tasks.0001_initial... OK" in output, output
    return output


class Server:
    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.port = port

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: object = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body)
            sent = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
            if payload is not None:
                sent["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def start(image: str, environment: dict[str, str], *options: str) -> Server:
    port = free_port()
    name = f"todo-image-test-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "-d", "--name", name, "--network=host", *options,
        *env_options({**environment, "PORT": str(port)}), image,
    )  # fmt: skip
    server = Server(name, port)
    deadline = time.monotonic() + 60
    while True:
        try:
            if server.request("GET", "/api/health", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        running = podman("inspect", "--format", "{{.State.Running}}", name, check=False)
        if running.stdout.strip() != "true" or time.monotonic() > deadline:
            logs = server.logs()
            podman("rm", "-f", "-t", "2", "--ignore", name, check=False)
            raise AssertionError(f"{image} did not serve /api/health:\n{logs}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server(image: str, environment: dict[str, str], released: str) -> Iterator[Server]:
    """One worker (a small instance): what one worker does with idle connections shows."""
    running = start(image, environment, "-e", "WEB_CONCURRENCY=1")
    yield running
    podman("rm", "-f", "-t", "5", "--ignore", running.name, check=False)


def token(user_id: str) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + 300, "iss": ISSUER, "aud": ISSUER}
    return jwt.encode({**claims, "email": f"{user_id}@example.com"}, SECRET, algorithm="HS256")


def test_release_runs_check_deploy_then_migrate(released: str) -> None:
    assert "System check identified no issues" in released
    assert released.index("System check") < released.index("Applying")


def test_release_fails_on_a_warning_unless_told(
    image: str, environment: dict[str, str], released: str
) -> None:
    """No REDIS_URL: check --deploy warns (authbridge.W002), and the release stops there."""
    alone = {name: value for name, value in environment.items() if name != "REDIS_URL"}
    refused = podman(
        "run", "--rm", "--network=host", *env_options(alone), image, "release", check=False
    )  # fmt: skip
    assert refused.returncode != 0
    assert "authbridge.W002" in refused.stderr
    assert "Applying" not in refused.stdout + refused.stderr
    accepted = podman(
        "run", "--rm", "--network=host", *env_options(alone),
        "-e", "RELEASE_CHECK_FAIL_LEVEL=ERROR", image, "release",
    )  # fmt: skip
    assert "No migrations to apply" in accepted.stdout


def test_purge_once_and_as_a_scheduled_job(
    image: str, environment: dict[str, str], released: str
) -> None:
    """compose.yaml's purge service: `purge --every N` repeats, and stops at once on SIGTERM."""
    once = podman("run", "--rm", "--network=host", *env_options(environment), image, "purge")
    assert "Deleted 0 expired idempotency record(s)." in once.stdout
    name = f"todo-image-purge-{uuid.uuid4().hex[:8]}"
    podman(
        "run", "-d", "--init", "--name", name, "--network=host", *env_options(environment),
        image, "purge", "--every", "1",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while podman("logs", name).stdout.count("Deleted") < 2:
            assert time.monotonic() < deadline, podman("logs", name, check=False).stderr
            time.sleep(0.5)
        started = time.monotonic()
        podman("stop", "-t", "10", name)
        assert time.monotonic() - started < 5  # the loop exits on SIGTERM, no SIGKILL needed
        assert podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        podman("rm", "-f", "-t", "2", "--ignore", name, check=False)


def test_serves_health_and_its_healthcheck_passes(image: str, server: Server) -> None:
    status, _, body = server.request("GET", "/api/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, _, body = server.request("GET", "/api/ready")
    assert status == 200, body
    configured = podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", image)
    assert "healthcheck" in configured.stdout  # kept: built with --format docker
    assert podman("healthcheck", "run", server.name, check=False).returncode == 0


def test_answers_an_authenticated_read_and_write(server: Server) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    auth = {"Authorization": f"Bearer {token(user)}"}
    status, _, body = server.request("GET", "/api/me", headers=auth)
    assert status == 200, body
    assert json.loads(body)["id"] == user
    status, _, body = server.request(
        "POST", f"/api/{user}/tasks", headers=auth, body={"title": "from the image"}
    )
    assert status == 201, body  # written to the PostgreSQL the release migrated
    status, _, body = server.request("GET", f"/api/{user}/tasks", headers=auth)
    assert status == 200
    assert "from the image" in body.decode()
    status, headers, _ = server.request("GET", "/api/me")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_two_idle_connections_do_not_block_a_third_request(server: Server) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    try:
        started = time.monotonic()
        status, _, _ = server.request("GET", "/api/health", timeout=10)
        elapsed = time.monotonic() - started
    finally:
        for connection in idle:
            connection.close()
    assert status == 200
    assert elapsed < 3, f"a request behind two idle connections took {elapsed:.1f} s"


def test_header_limits_answer_instead_of_buffering(server: Server) -> None:
    status, _, _ = server.request("GET", "/api/health", headers={"X-Big": "x" * 20_000})
    assert status == 431  # over limit_request_field_size (nginx: 16 KiB buffers), not buffered
    status, _, _ = server.request("GET", "/api/health", headers={"X-Token": "x" * 8_200})
    assert status == 200  # an 8 KiB bearer token still fits


def test_runs_as_non_root_and_holds_no_env_file(image: str, server: Server) -> None:
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == (
        "10001:10001"
    )
    assert podman("exec", server.name, "id", "-u").stdout.strip() == "10001"
    status = podman("exec", server.name, "cat", "/proc/1/status").stdout  # PID 1: gunicorn
    assert "Name:\tgunicorn" in status
    assert "\nUid:\t10001\t10001\t10001\t10001" in status

    def as_root(script: str) -> str:
        run = ("run", "--rm", "--user", "0", "--entrypoint", "sh", image, "-c", f"{script}; true")
        return podman(*run, timeout=180).stdout

    found = as_root(
        "find / -xdev \\( -name '.env*' -o -name '*.env' -o -name '*build-ca*' \\) -print; "
        f"grep -rl --exclude-dir=proc --exclude-dir=sys '{CANARY}' /app /opt /etc /tmp /root"
    )
    # No .env (nor the canary planted in them), no mount point of the build secret.
    assert found.strip() == "", f"found in the image:\n{found}"
    # The host CA bundle (with the TLS proxy's CA) went in as a build secret: no copy of it.
    ca = pm.HOST_CA.read_bytes()
    same_size = as_root(f"find / -xdev -type f -size {len(ca)}c -exec sha256sum {{}} +")
    assert hashlib.sha256(ca).hexdigest() not in same_size


def test_logs_carry_no_secret(server: Server) -> None:
    logs = server.logs()
    assert "Booting worker with pid" in logs, logs
    assert "Logging error" not in logs  # gunicorn's own lines format (they print the pid)
    assert "Error" not in logs, logs  # no PermissionError from a control socket, nothing else
    socket_file = podman("exec", server.name, "sh", "-c", "test -S /tmp/gunicorn.ctl && echo yes")
    assert socket_file.stdout.strip() == "yes"  # gunicornc works: `podman exec … gunicornc`
    for secret in (DJANGO_SECRET, SECRET, CANARY):
        assert secret not in logs


def test_as_compose_runs_it_sized_from_the_cpu_quota_stopping_gracefully(
    image: str, environment: dict[str, str], released: str
) -> None:
    """compose.yaml's flags (read-only root, /tmp in memory, no capabilities) and --cpus 1:
    2 x 1 + 1 = 3 workers, whatever the host's core count; SIGTERM (podman stop) lets gunicorn
    finish gracefully, well inside compose's stop_grace_period, exit status 0."""
    hardening = ("--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL")  # noqa: S108
    running = start(
        image, environment, "--cpus", "1", *hardening, "--security-opt", "no-new-privileges"
    )
    try:
        deadline = time.monotonic() + 20
        while running.logs().count("Booting worker") < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
        time.sleep(1)
        assert running.logs().count("Booting worker") == 3, running.logs()
        assert running.request("GET", "/api/ready")[0] == 200
        started = time.monotonic()
        podman("stop", "-t", "25", running.name, timeout=60)
        assert time.monotonic() - started < 15
        state = podman("inspect", "--format", "{{.State.ExitCode}}", running.name)
        assert state.stdout.strip() == "0", running.logs()
        assert "Shutting down: Master" in running.logs()
    finally:
        podman("rm", "-f", "-t", "5", "--ignore", running.name, check=False)
