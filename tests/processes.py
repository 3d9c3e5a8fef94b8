"""Processes the tests start: Node projects installed with npm ci, and servers they stop."""

import subprocess
from pathlib import Path
from typing import Any


def npm_ci(project: Path, *, timeout: float = 900) -> None:
    """`npm ci` only when the lockfile is newer than the installed tree."""
    installed = project / "node_modules" / ".package-lock.json"
    lock = project / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=project,
            check=True,
            timeout=timeout,
        )


def stop(process: subprocess.Popen[Any], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL when the process is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
