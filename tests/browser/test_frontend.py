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
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from scripts.harness import free_port, production_env, start, stop, wait_for_http
from tests.browser.replay_proxy import replay_proxy
from tests.ops.servers import unavailable
from tests.processes import npm_ci

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
        unavailable(f"{', '.join(missing)} not installed: the browser test needs them")
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


@contextmanager
def serve(
    command: list[str], *, cwd: Path, env: dict[str, str], ready_url: str, log: Path
) -> Iterator[None]:
    process = start(command, cwd=cwd, env=env, log=log)
    try:
        wait_for_http(ready_url, process=process, log=log, timeout=START_TIMEOUT_SECONDS)
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


def serve_api(
    stack: ExitStack,
    tmp_path: Path,
    *,
    app_url: str,
    cors: bool,
    env_out: dict[str, str] | None = None,
) -> str:
    """Migrate and start gunicorn for the frontend at ``app_url``; returns the API's URL.
    ``env_out`` receives the API's environment (to run ``manage.py`` against its database)."""
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    database_url = stack.enter_context(api_database_url(tmp_path))
    # Only the frontend's Better Auth: its JWKS, its iss and aud. No shared secret.
    api_env = production_env(
        allowed_hosts="127.0.0.1",
        DATABASE_URL=database_url,
        CORS_ALLOWED_ORIGINS=app_url if cors else "",
        BETTER_AUTH_URL=app_url,
        HOST="127.0.0.1",
        PORT=str(api_port),
        WEB_CONCURRENCY="2",
    )
    if env_out is not None:
        env_out.update(api_env)
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


def run_scenario(script: str, tmp_path: Path, **env: str) -> str:
    """Run the Node scenario ``script`` (tests/browser/*.mjs) with ``env``; it must end with
    "all good". Returns its output; on failure the message carries the servers' log tails."""
    scenario = subprocess.run(
        ["node", str(HERE / script)],
        cwd=HERE,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=SCENARIO_TIMEOUT_SECONDS,
        check=False,
    )
    logs = scenario_logs(tmp_path)
    assert scenario.returncode == 0, f"{scenario.stdout}\n{scenario.stderr}\n{logs}"
    assert "all good" in scenario.stdout
    return scenario.stdout


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
        run_scenario(
            "frontend.mjs",
            tmp_path,
            APP_URL=app_url,
            FOREIGN_APP_URL=f"http://localhost:{app_port}",
            API_URL=api_url,
            SERVER_API_URL=server_api_url,
            CHROMIUM=chromium,
            SCREENSHOT=str(screenshot),
        )
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
        run_scenario("rewrite.mjs", tmp_path, APP_URL=app_url, API_URL=api_url, CHROMIUM=chromium)
