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


def compile_commands(target: str) -> list[str]:
    planned = make("-n", target).stdout
    return ["pip compile" + part for part in planned.split("pip compile")[1:]]


def test_lock_upgrade_recompiles_every_lock_with_upgrade() -> None:
    """Both locks of the service, and one per package test row (requirements/package/*.in)."""
    rows = sorted(p.stem for p in (REPO / "requirements" / "package").glob("*.in"))
    planned = compile_commands("lock-upgrade")
    assert len(planned) == 2 + len(rows)
    assert all("--upgrade" in command for command in planned)
    assert not any("--upgrade" in command for command in compile_commands("lock"))
    for row in rows:  # py311-... compiles for Python 3.11
        (command,) = [c for c in planned if f"requirements/package/{row}.in" in c]
        assert f"--python-version 3.{row.split('-')[0].removeprefix('py3')} " in command
        assert "--generate-hashes" in command


def test_ci_runs_the_package_test_after_the_postgresql_suite() -> None:
    steps = (REPO / ".ci" / "run").read_text()
    assert "env -u DATABASE_URL make test-package" in steps
    assert steps.index('DATABASE_URL="$PG_URL" make test\n') < steps.index(
        "env -u DATABASE_URL make test-package"
    )
    assert "-m package" in make("-n", "test-package").stdout


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
