""" "Delete account" in the Next.js example, in headless chromium: Better Auth deletes the user,
its beforeDelete hook has the API erase the user's data first; the other user's data stays.

The same servers as tests/browser/test_frontend.py (next start with Better Auth, gunicorn); the
scenario is tests/browser/account_deletion.mjs. Afterwards the operator's view of the API's
database (``list_data_owners``) must hold Bob and not Ann.
"""

import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from scripts.harness import free_port
from tests.browser.test_frontend import (
    EXAMPLE,
    HERE,
    ROOT,
    build_example,
    require_tools,
    run_scenario,
    serve_api,
    serve_app,
)
from tests.processes import npm_ci

pytestmark = pytest.mark.browser


def test_deleting_an_account_in_a_real_browser_erases_its_data(tmp_path: Path) -> None:
    chromium = require_tools()
    npm_ci(EXAMPLE)
    npm_ci(HERE)
    build_example()

    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with ExitStack() as stack:
        api_env: dict[str, str] = {}
        api_url = serve_api(stack, tmp_path, app_url=app_url, cors=True, env_out=api_env)
        # TODO_API_URL: the browser's API calls, and the beforeDelete hook's.
        serve_app(stack, tmp_path, example=EXAMPLE, app_url=app_url, env={"TODO_API_URL": api_url})
        output = run_scenario(
            "account_deletion.mjs", tmp_path, APP_URL=app_url, API_URL=api_url, CHROMIUM=chromium
        )
        lines = output.splitlines()
        ids = dict(line.split("=", 1) for line in lines if line.startswith(("ANN=", "BOB=")))
        owners = subprocess.run(
            [sys.executable, "manage.py", "list_data_owners"],
            cwd=ROOT, env=api_env, capture_output=True, text=True, check=True, timeout=300,
        ).stdout.split()  # fmt: skip
        assert ids["BOB"] in owners
        assert ids["ANN"] not in owners
        # the beforeDelete hook logged what the API erased
        assert "erased 2 task(s) of " + ids["ANN"] in (tmp_path / "next.log").read_text()
