"""Node projects the tests install with npm ci (servers start and stop through scripts/harness)."""

import subprocess
from pathlib import Path


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
