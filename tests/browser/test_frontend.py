"""The Next.js example (examples/nextjs) in headless chromium against this API under gunicorn.

Everything runs as in production: `next build` + `next start` (Better Auth inside, EdDSA JWTs)
and gunicorn on the database this suite uses (a database of its own on the same PostgreSQL
server, or a temporary SQLite file). The scenario itself is tests/browser/frontend.mjs; a second,
tests/browser/rewrite.mjs, drives a build with the same-origin rewrite against an API that allows
no CORS origin.
Without node, npm or chromium this skips locally and fails in CI (CI=true).
"""

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests.browser.replay_proxy import replay_proxy
from tests.processes import npm_ci, stop

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLE = ROOT / "examples" / "nextjs"
SCREENSHOT = ROOT / "docs" / "screenshots" / "tasks.png"
BUILD_STAMP = EXAMPLE / ".next" / "todo-build-inputs.sha256"
START_TIMEOUT_SECONDS = 60
SCENARIO_TIMEOUT_SECONDS = 300


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return os.environ.get("CHROMIUM") or found


def require_tools() -> str:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    chromium = chromium_path()
    if chromium is None:
        missing.append("chromium")
    if missing:
        message = f"{', '.join(missing)} not installed: the browser test needs them"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert chromium is not None
    return chromium


def build_inputs_digest() -> str:
    """Everything `next build` reads from this repository, so an unchanged build is reused."""
    digest = hashlib.sha256()
    sources = [ROOT / "docs" / "openapi.json"]
    for pattern in ("app/**/*", "lib/**/*", "*.ts", "*.json"):
        sources += sorted(p for p in EXAMPLE.glob(pattern) if p.is_file())
    for path in sources:
        if path.name in {"api-types.ts", "next-env.d.ts"}:
            continue  # written by the build itself
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_example() -> None:
    digest = build_inputs_digest()
    if BUILD_STAMP.exists() and BUILD_STAMP.read_text() == digest:
        return
    subprocess.run(["npm", "run", "build"], cwd=EXAMPLE, check=True, timeout=900)
    BUILD_STAMP.write_text(digest)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer within {START_TIMEOUT_SECONDS}s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve(
    command: list[str], *, cwd: Path, env: dict[str, str], ready_url: str, log: Path
) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        try:
            wait_until_up(ready_url, process, log)
            yield
        finally:
            stop(process, timeout=15)


@contextmanager
def api_database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the browser test's own, on the server the suite runs on."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        yield f"sqlite:///{tmp_path / 'api.sqlite3'}"
        return
    name = f"{db['NAME']}_browser"
    params: dict[str, str] = {
        "host": str(db.get("HOST") or "127.0.0.1"),
        "port": str(db.get("PORT") or 5432),
        "user": str(db.get("USER") or "postgres"),
        "password": str(db.get("PASSWORD") or ""),
    }

    def admin(statement: sql.Composed) -> None:
        conninfo = psycopg.conninfo.make_conninfo(dbname="postgres", **params)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(statement)

    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    password = f":{params['password']}" if params["password"] else ""
    try:
        yield f"postgres://{params['user']}{password}@{params['host']}:{params['port']}/{name}"
    finally:
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def serve_api(stack: ExitStack, tmp_path: Path, *, app_url: str, cors: bool) -> str:
    """Migrate and start gunicorn for the frontend at ``app_url``; returns the API's URL."""
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    database_url = stack.enter_context(api_database_url(tmp_path))
    api_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_HSTS_SECONDS": "0",
        "CORS_ALLOWED_ORIGINS": app_url if cors else "",
        # Only the frontend's Better Auth: its JWKS, its iss and aud. No shared secret.
        "BETTER_AUTH_URL": app_url,
        "BETTER_AUTH_SECRET": "",
        "BETTER_AUTH_SECRETS": "",
        "BETTER_AUTH_JWKS": "",
        "BETTER_AUTH_JWKS_URL": "",
        "HOST": "127.0.0.1",
        "PORT": str(api_port),
        "WEB_CONCURRENCY": "2",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=api_env,
        check=True,
        timeout=300,
    )
    stack.enter_context(
        serve(
            [sys.executable, "-m", "gunicorn", "todo_project.wsgi"],
            cwd=ROOT,
            env=api_env,
            ready_url=f"{api_url}/api/ready",
            log=tmp_path / "gunicorn.log",
        )
    )
    return api_url


def serve_app(
    stack: ExitStack, tmp_path: Path, *, example: Path, app_url: str, env: dict[str, str]
) -> None:
    """`next start` of the built ``example`` at ``app_url``, with ``env`` added."""
    app_env = {
        **os.environ,
        "NODE_ENV": "production",
        "BETTER_AUTH_URL": app_url,
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(40),
        "AUTH_DATABASE_PATH": str(tmp_path / "auth.sqlite"),
        "NEXT_TELEMETRY_DISABLED": "1",
        **env,
    }
    next_bin = str(example / "node_modules" / ".bin" / "next")
    port = app_url.rsplit(":", 1)[1]
    stack.enter_context(
        serve(
            [next_bin, "start", "-H", "127.0.0.1", "-p", port],
            cwd=example,
            env=app_env,
            ready_url=f"{app_url}/sign-in",
            log=tmp_path / "next.log",
        )
    )


def scenario_logs(tmp_path: Path) -> str:
    return "\n".join(
        f"--- {name} (tail) ---\n{(tmp_path / name).read_text()[-3000:]}"
        for name in ("gunicorn.log", "next.log")
    )


def test_the_nextjs_example_in_a_real_browser(tmp_path: Path) -> None:
    chromium = require_tools()
    npm_ci(EXAMPLE)
    npm_ci(HERE)
    build_example()

    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with ExitStack() as stack:
        api_url = serve_api(stack, tmp_path, app_url=app_url, cors=True)
        # The Next.js server's own calls (Server Components, Server Actions) go through a
        # proxy that records them and can replay a 503 or a 401; the browser calls the API.
        server_api_url = stack.enter_context(replay_proxy(api_url))
        serve_app(
            stack,
            tmp_path,
            example=EXAMPLE,
            app_url=app_url,
            env={"TODO_API_URL": api_url, "TODO_API_SERVER_URL": server_api_url},
        )
        screenshot = tmp_path / "tasks.png"
        scenario = subprocess.run(
            ["node", str(HERE / "frontend.mjs")],
            cwd=HERE,
            env={
                **os.environ,
                "APP_URL": app_url,
                "FOREIGN_APP_URL": f"http://localhost:{app_port}",
                "API_URL": api_url,
                "SERVER_API_URL": server_api_url,
                "CHROMIUM": chromium,
                "SCREENSHOT": str(screenshot),
            },
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_SECONDS,
            check=False,
        )
        logs = scenario_logs(tmp_path)
        assert scenario.returncode == 0, f"{scenario.stdout}\n{scenario.stderr}\n{logs}"
        assert "all good" in scenario.stdout
        assert screenshot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("UPDATE_SCREENSHOT") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshot, SCREENSHOT)


def staged_example(tmp_path: Path) -> Path:
    """A copy of the example (node_modules hard-linked) for a build with other build-time
    settings, leaving examples/nextjs/.next alone; `gen:api` finds ../../docs/openapi.json."""
    root = tmp_path / "checkout"
    example = root / "examples" / "nextjs"
    (root / "docs").mkdir(parents=True)
    shutil.copyfile(ROOT / "docs" / "openapi.json", root / "docs" / "openapi.json")
    generated = ("node_modules", ".next", "api-types.ts", "next-env.d.ts", "*.sqlite*", ".env*")
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns(*generated))
    shutil.copytree(
        EXAMPLE / "node_modules", example / "node_modules", symlinks=True, copy_function=os.link
    )
    return example


def test_the_same_origin_rewrite_needs_no_cors(tmp_path: Path) -> None:
    """TODO_API_REWRITE=1: the browser calls /todo-api/* on the app's origin, and the API,
    with no CORS origin allowed at all, serves it (examples/nextjs/next.config.ts)."""
    chromium = require_tools()
    npm_ci(EXAMPLE)
    npm_ci(HERE)
    example = staged_example(tmp_path)
    app_url = f"http://127.0.0.1:{free_port()}"
    with ExitStack() as stack:
        api_url = serve_api(stack, tmp_path, app_url=app_url, cors=False)
        build_env = {**os.environ, "TODO_API_REWRITE": "1", "TODO_API_URL": api_url}
        build_env.pop("TODO_API_SERVER_URL", None)
        subprocess.run(["npm", "run", "build"], cwd=example, env=build_env, check=True, timeout=900)
        serve_app(stack, tmp_path, example=example, app_url=app_url, env={"TODO_API_URL": api_url})
        scenario = subprocess.run(
            ["node", str(HERE / "rewrite.mjs")],
            cwd=HERE,
            env={**os.environ, "APP_URL": app_url, "API_URL": api_url, "CHROMIUM": chromium},
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_SECONDS,
            check=False,
        )
        logs = scenario_logs(tmp_path)
        assert scenario.returncode == 0, f"{scenario.stdout}\n{scenario.stderr}\n{logs}"
        assert "all good" in scenario.stdout
