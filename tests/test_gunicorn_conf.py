"""gunicorn.conf.py: workers sized from the cgroup CPU quota, gunicorn's own log lines format."""

import logging
import runpy
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def conf(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name in ("WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS"):
        monkeypatch.delenv(name, raising=False)
    return runpy.run_path(str(REPO / "gunicorn.conf.py"))


def cgroup(tmp_path: Path, own: str, limits: dict[str, str]) -> tuple[Path, Path]:
    """A fake /sys/fs/cgroup with cpu.max files, and a /proc/self/cgroup naming ``own``."""
    root = tmp_path / "cgroup"
    for directory, value in limits.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory / "cpu.max").write_text(f"{value}\n")
    (root / own.lstrip("/")).mkdir(parents=True, exist_ok=True)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::{own}\n")
    return root, proc


def test_quota_of_the_own_cgroup(conf: dict[str, Any], tmp_path: Path) -> None:
    """A container (`--cpus 1.5`) or a unit with CPUQuota=150%."""
    root, proc = cgroup(tmp_path, "/system.slice/todo-api@8001.service", {
        "system.slice": "max 100000", "system.slice/todo-api@8001.service": "150000 100000",
    })  # fmt: skip
    assert conf["cgroup_cpu_quota"](root, proc) == 1.5


def test_a_tighter_parent_quota_wins(conf: dict[str, Any], tmp_path: Path) -> None:
    """Kubernetes puts the pod's limit on a parent of the container's cgroup."""
    root, proc = cgroup(tmp_path, "/kubepods/pod1/ctr", {
        "kubepods/pod1": "50000 100000", "kubepods/pod1/ctr": "max 100000",
    })  # fmt: skip
    assert conf["cgroup_cpu_quota"](root, proc) == 0.5


def test_no_quota(conf: dict[str, Any], tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, "/", {"": "max 100000"})
    assert conf["cgroup_cpu_quota"](root, proc) is None
    assert conf["cgroup_cpu_quota"](tmp_path / "absent", tmp_path / "absent-proc") is None


def test_cgroup_v1_quota(conf: dict[str, Any], tmp_path: Path) -> None:
    v1 = tmp_path / "cgroup" / "cpu,cpuacct"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert conf["cgroup_cpu_quota"](tmp_path / "cgroup", tmp_path / "no-proc") == 2.0


def test_workers_follow_available_cpus(conf: dict[str, Any]) -> None:
    assert conf["workers"] == min(conf["available_cpus"]() * 2 + 1, 8)
    assert conf["worker_class"] == "sync"  # behind nginx; the image sets gthread


def test_gunicorn_log_lines_format_under_the_app_logging(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """settings.py configures logging (edge.logs); gunicorn's lines print the pid."""
    assert logging.logProcesses
    Logger(Config()).info("Booting worker with pid: %s", 1234)
    err = capsys.readouterr().err
    assert "Logging error" not in err
    assert "Booting worker with pid: 1234" in err
