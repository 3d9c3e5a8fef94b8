"""The habits `make lint`, `make lock-upgrade` and `.ci/run` are meant to enforce."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_lint_checks_for_missing_migrations_and_the_locks() -> None:
    planned = make("-n", "lint").stdout
    assert "makemigrations --check --dry-run" in planned
    assert "requirements/*.txt" in planned  # check-locks runs first


def test_lock_upgrade_recompiles_both_locks_with_upgrade() -> None:
    planned = [line for line in make("-n", "lock-upgrade").stdout.splitlines() if "compile" in line]
    assert len(planned) == 2
    assert all("--upgrade" in line for line in planned)
    assert not any("--upgrade" in line for line in make("-n", "lock").stdout.splitlines())


@pytest.mark.parametrize(
    ("line", "clean"),
    [
        pytest.param("django==5.2.19 \\\n    --hash=sha256:abc\n", True, id="pins-and-hashes"),
        pytest.param("--index-url https://mirror.example/simple\n", False, id="index-url"),
        pytest.param("--extra-index-url http://mirror.example\n", False, id="extra-index"),
        pytest.param("--find-links /wheels\n", False, id="find-links"),
        pytest.param("# resolved from https://mirror.example\n", False, id="any-url"),
    ],
)
def test_check_locks_refuses_a_package_index(tmp_path: Path, line: str, clean: bool) -> None:
    lock = tmp_path / "main.txt"
    lock.write_text(line)
    assert (make("check-locks", f"LOCK_FILES={lock}").returncode == 0) is clean


def test_the_real_locks_name_no_package_index() -> None:
    assert make("check-locks").returncode == 0


def test_ci_run_sets_ci_itself_so_a_missing_node_fails(tmp_path: Path) -> None:
    """Without node on PATH and CI unset, a local .ci/run stops at once, as CI would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PATH": str(bin_dir)}
    result = subprocess.run(
        [str(bin_dir / "bash"), ".ci/run"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "node is not installed" in result.stderr
