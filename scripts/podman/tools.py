"""Podman on this host: the tools (installed with apt-get as root), the environment and argv
of every podman command, and one builder at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"
BUILD_CA_ID = "build-ca"  # the Dockerfile's RUN --mount=type=secret,id=build-ca
# command -> Debian package. catatonit is podman's --init (only a Recommends of podman).
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap", "catatonit": "catatonit"}
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n'


class ContainerError(RuntimeError):
    """Containers cannot run here, or a container step failed (the message says which)."""


def progress(message: str) -> None:
    sys.stderr.write(f"podman: {message}\n")
    sys.stderr.flush()


def is_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """Where the CONTAINERS_CONF file and the build lock live."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        "/var/cache" if is_root() else str(Path.home() / ".cache")
    )
    path = Path(base) / "todo-api-podman"
    path.mkdir(parents=True, exist_ok=True)
    return path


def containers_conf() -> Path:
    """The CONTAINERS_CONF file podman reads: no default ulimits, the cgroupfs manager."""
    path = cache_dir() / "containers.conf"
    if not path.exists() or path.read_text() != CONTAINERS_CONF:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(CONTAINERS_CONF)
        partial.replace(path)
    return path


def podman_env() -> dict[str, str]:
    """The environment every podman command runs with."""
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}


def podman(*args: str) -> list[str]:
    """The argv of one podman command (always the runc runtime)."""
    return ["podman", "--runtime", "runc", *args]


def run_podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one podman command, output captured; never raises on its exit status."""
    return subprocess.run(  # noqa: S603 (argv built here, no shell)
        podman(*args), capture_output=True, text=True, timeout=timeout, env=podman_env()
    )


def missing_tools() -> list[str]:
    """The commands of TOOLS not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def unavailable() -> str | None:
    """Why containers cannot be built and run here, or None. Quick: installs nothing."""
    if not sys.platform.startswith("linux"):
        return f"containers need Linux, not {sys.platform}"
    if not HOST_CA.is_file():
        return f"no host CA bundle at {HOST_CA} to mount into builds"
    missing = missing_tools()
    if missing and not (is_root() and shutil.which("apt-get")):
        return (
            f"{', '.join(missing)} not installed and cannot be installed here "
            f"(as root: apt-get install {' '.join(TOOLS.values())})"
        )
    if not is_root():
        return "building the Debian base with mmdebstrap and running rootful podman need root"
    return None


def ensure_tools() -> None:
    """Install podman, runc, mmdebstrap and catatonit with apt-get when one is missing (root)."""
    missing = missing_tools()
    if not missing:
        return
    packages = [TOOLS[tool] for tool in missing]
    if not is_root() or shutil.which("apt-get") is None:
        raise ContainerError(
            f"{', '.join(missing)} not installed; as root: apt-get install {' '.join(packages)}"
        )
    progress(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *packages]
    for argv in (["apt-get", "-q", "update"], install):
        done = subprocess.run(argv, capture_output=True, text=True, env=env)  # noqa: S603
        if done.returncode != 0:
            raise ContainerError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    still = missing_tools()
    if still:
        raise ContainerError(f"apt-get installed {' '.join(packages)} but {still} still missing")


@contextlib.contextmanager
def build_lock(name: str = "build.lock") -> Iterator[None]:
    """One builder at a time across processes (pytest-xdist workers, parallel runs)."""
    with (cache_dir() / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
