"""TASKS_PER_USER_MAX on SQLite under concurrency, and a locked SQLite database answering 503.

Each scenario runs in a process of its own against a database file (tests/tasks/sqlite_burst.py
says why not the in-memory test database); it needs no server and runs whatever DATABASE_URL
the suite itself uses.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.errors import DATABASE_BUSY, DATABASE_RETRY_AFTER_SECONDS
from tests.conftest import TEST_ISSUER, TEST_SECRET
from tests.tasks.sqlite_burst import PROCESSES, THREADS

ROOT = Path(__file__).resolve().parents[2]
CAP = 5


def run(scenario: str, tmp_path: Path) -> Any:
    env = {
        **os.environ,
        "DJANGO_ENV_FILE": os.devnull,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BETTER_AUTH_SECRET": TEST_SECRET,
        "BETTER_AUTH_ISSUER": TEST_ISSUER,
        "BETTER_AUTH_AUDIENCE": TEST_ISSUER,
        "RATE_LIMIT_WRITES": "100000/min",
        "TASKS_PER_USER_MAX": str(CAP),
        "DJANGO_LOG_LEVEL": "ERROR",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = "todo_project.settings"
    done = subprocess.run(
        [sys.executable, "-m", "tests.tasks.sqlite_burst", str(tmp_path / "db.sqlite3"), scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", ["burst", "burst-keys"], ids=["no-key", "idempotency-key"])
def test_a_burst_at_cap_minus_one_stores_exactly_the_cap(scenario: str, tmp_path: Path) -> None:
    result = run(scenario, tmp_path)
    assert (result["stored"], result["statuses"]) == (
        CAP,
        [201] + [409] * (PROCESSES * THREADS - 1),
    )
    assert len(result["details"]) == 1
    assert f"{CAP} tasks" in result["details"][0]


def test_a_locked_database_answers_503_with_retry_after(tmp_path: Path) -> None:
    result = run("locked", tmp_path)
    status, body, retry_after = result["during"]
    assert (status, body, retry_after) == (
        503,
        {"detail": DATABASE_BUSY},
        str(DATABASE_RETRY_AFTER_SECONDS),
    )
    assert result["list_during"] == 200  # WAL: readers are not held up by the writer
    assert result["after"] == 201
