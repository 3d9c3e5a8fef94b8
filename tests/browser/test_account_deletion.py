""" "Delete account" in the Next.js example, in headless chromium: Better Auth deletes the user,
its beforeDelete hook has the API erase the user's data first; the other user's data stays.

The same servers as tests/browser/test_frontend.py (next start with Better Auth, gunicorn); the
scenario is tests/browser/account_deletion.mjs. Afterwards the operator's view of the API's
database (``list_data_owners``) must hold Bob and not Ann.
"""

import os
import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.browser.test_frontend import (
    EXAMPLE,
    HERE,
    ROOT,
    SCENARIO_TIMEOUT_SECONDS,
    api_database_url,
    build_example,
    free_port,
    require_tools,
    serve,
)
from tests.processes import npm_ci

pytestmark = pytest.mark.browser


def test_deleting_an_account_in_a_real_browser_erases_its_data(tmp_path: Path) -> None:
    chromium = require_tools()
    npm_ci(EXAMPLE)
    npm_ci(HERE)
    build_example()

    app_port, api_port = free_port(), free_port()
    app_url, api_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{api_port}"
    with ExitStack() as stack:
        database_url = stack.enter_context(api_database_url(tmp_path))
        api_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_HSTS_SECONDS": "0",
            "CORS_ALLOWED_ORIGINS": app_url,
            "BETTER_AUTH_URL": app_url,  # only the frontend's Better Auth: its JWKS, iss, aud
            "BETTER_AUTH_SECRET": "",
            "BETTER_AUTH_SECRETS": "",
            "BETTER_AUTH_JWKS": "",
            "BETTER_AUTH_JWKS_URL": "",
            "HOST": "127.0.0.1",
            "PORT": str(api_port),
            "WEB_CONCURRENCY": "2",
        }

        def manage(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=api_env,
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
            )
            return done.stdout

        manage("migrate", "--no-input", "-v", "0")
        stack.enter_context(
            serve(
                [sys.executable, "-m", "gunicorn", "todo_project.wsgi"],
                cwd=ROOT,
                env=api_env,
                ready_url=f"{api_url}/api/ready",
                log=tmp_path / "gunicorn.log",
            )
        )
        app_env = {
            **os.environ,
            "NODE_ENV": "production",
            "BETTER_AUTH_URL": app_url,
            "BETTER_AUTH_SECRET": secrets.token_urlsafe(40),
            "AUTH_DATABASE_PATH": str(tmp_path / "auth.sqlite"),
            "TODO_API_URL": api_url,  # the browser's API calls, and the beforeDelete hook's
            "NEXT_TELEMETRY_DISABLED": "1",
        }
        next_bin = str(EXAMPLE / "node_modules" / ".bin" / "next")
        stack.enter_context(
            serve(
                [next_bin, "start", "-H", "127.0.0.1", "-p", str(app_port)],
                cwd=EXAMPLE,
                env=app_env,
                ready_url=f"{app_url}/sign-in",
                log=tmp_path / "next.log",
            )
        )
        scenario = subprocess.run(
            ["node", str(HERE / "account_deletion.mjs")],
            cwd=HERE,
            env={**os.environ, "APP_URL": app_url, "API_URL": api_url, "CHROMIUM": chromium},
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_SECONDS,
            check=False,
        )
        logs = "\n".join(
            f"--- {name} (tail) ---\n{(tmp_path / name).read_text()[-3000:]}"
            for name in ("gunicorn.log", "next.log")
        )
        assert scenario.returncode == 0, f"{scenario.stdout}\n{scenario.stderr}\n{logs}"
        assert "all good" in scenario.stdout
        lines = scenario.stdout.splitlines()
        ids = dict(line.split("=", 1) for line in lines if line.startswith(("ANN=", "BOB=")))
        owners = manage("list_data_owners").split()
        assert ids["BOB"] in owners
        assert ids["ANN"] not in owners
        # the beforeDelete hook logged what the API erased
        assert "erased 2 task(s) of " + ids["ANN"] in (tmp_path / "next.log").read_text()
