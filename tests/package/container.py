"""Python 3.13 on Debian 13 (trixie) in a podman container, for the package tests (issue 17 item 5).

No base image is pulled: the image is a Debian rootfs built here with ``mmdebstrap`` from the
Debian mirror the host's apt already uses, then ``podman import``-ed once and cached under a tag
that hashes the recipe (``localhost/authbridge-py313:<hash>``). Every container runs with
``--network=host`` (a server inside is reached from the host on 127.0.0.1, and Better Auth on the
host is reached from inside) and with the host's CA bundle mounted read-only, because downloads
pass a TLS proxy whose CA only the host bundle holds; the CA is never baked into the image.

    ensure_tools()                     # podman, runc, mmdebstrap, catatonit (apt-get when root)
    image = ensure_image()             # built once, then cached
    result = run(["python3", "-V"], mounts={str(tmp): "/work"}, timeout=60)
    with start(["python3", "-m", "http.server", "8123"]) as server:
        server.wait_for_http("http://127.0.0.1:8123/", timeout=30)

In tests, call ``require()`` first: it fails under CI=true and skips locally when containers
cannot run on this machine. The podman, mmdebstrap and apt-sources code is scripts/podman/'s,
shared with the app's image (`make image`, tests/image): this module adds the Python 3.13 image
and the way the package tests run containers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from scripts import podman as shared
from scripts.podman import (
    CONTAINER_CA,
    HOST_CA,
    TOOLS,
    ContainerError,
    debian_mirror,
    ensure_tools,
    missing_tools,
    podman,
)

__all__ = [
    "CONTAINER_CA",
    "HOST_CA",
    "TOOLS",
    "ContainerError",
    "debian_mirror",
    "ensure_tools",
    "missing_tools",
    "podman",
]

SUITE = "trixie"  # Debian 13: its python3 is 3.13
PACKAGES = ("python3", "python3-venv", "ca-certificates")
IMAGE_NAME = "localhost/authbridge-py313"
CONTAINER_PIP_CACHE = "/root/.cache/pip"
IMAGE_CHANGES = (
    "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV=LANG=C.UTF-8",
    'CMD=["python3"]',
)
# Everything that decides the image's content; its hash is the tag, so a change rebuilds. A full
# minbase (no dpkg excludes): the package tests may read installed docs and licences.
_RECIPE = shared.RootfsImage(
    tag="", suite=SUITE, packages=PACKAGES, changes=IMAGE_CHANGES, dpkg_options=()
)
IMAGE = dataclasses.replace(_RECIPE, tag=f"{IMAGE_NAME}:{_RECIPE.recipe_hash}")
RECIPE = IMAGE.recipe
MIRROR_VARIABLE = "AUTHBRIDGE_DEBIAN_MIRROR"  # overrides the mirror read from apt's sources
LABEL = "authbridge-test=1"


def cache_dir() -> Path:
    """Where the pip cache lives (CONTAINERS_CONF and the build lock: scripts/podman/'s)."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        "/var/cache" if shared.is_root() else str(Path.home() / ".cache")
    )
    path = Path(base) / "authbridge-container"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _podman_env() -> dict[str, str]:
    return shared.podman_env()


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return shared.run_podman(*args, timeout=timeout)


def unavailable() -> str | None:
    """Why containers cannot run here (missing tools that cannot be installed, no CA...), or None.

    Shell-free and quick: nothing is installed or built.
    """
    return shared.unavailable()


def require() -> None:
    """For tests: make the tools ready, or fail under CI=true / skip locally, saying why."""
    import pytest

    reason = unavailable()
    if reason is None:
        try:
            ensure_tools()
        except ContainerError as error:
            reason = str(error)
    if reason is not None:
        message = f"cannot run the Debian 13 container: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


# --- the image ----------------------------------------------------------------------------------


def image_tag() -> str:
    """``localhost/authbridge-py313:<12 hex digits of the recipe's sha256>``."""
    return IMAGE.tag


def image_exists(tag: str) -> bool:
    return _podman("image", "exists", tag).returncode == 0


def ensure_image(*, timeout: float = 1800) -> str:
    """The tag of the Python 3.13 / Debian 13 image, built with mmdebstrap the first time."""
    return shared.ensure_rootfs_image(IMAGE, timeout=timeout)


def image_size(tag: str) -> int:
    """The image's size in bytes, as podman reports it."""
    done = _podman("image", "inspect", "--format", "{{.Size}}", tag)
    if done.returncode != 0:
        raise ContainerError(f"podman image inspect {tag} failed: {done.stderr}")
    return int(done.stdout.strip())


# --- running ------------------------------------------------------------------------------------


def _run_options(
    mounts: Mapping[str, str] | None,
    env: Mapping[str, str] | None,
    workdir: str | None,
    pip_cache: bool,
) -> list[str]:
    """--network=host, --init, the host CA read-only, the CA variables, the caller's mounts and
    env (a container path may end in :ro)."""
    options = ["--network=host", "--init", "--label", LABEL]
    options += ["-v", f"{HOST_CA}:{CONTAINER_CA}:ro"]
    if pip_cache:
        cache = cache_dir() / "pip"
        cache.mkdir(exist_ok=True)
        options += ["-v", f"{cache}:{CONTAINER_PIP_CACHE}"]
    for host, inside in (mounts or {}).items():
        options += ["-v", f"{Path(host).resolve()}:{inside}"]
    variables = {name: CONTAINER_CA for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        if os.environ.get(name):
            variables[name] = os.environ[name]
    variables.update(env or {})
    for name, value in variables.items():
        options += ["-e", f"{name}={value}"]
    if workdir:
        options += ["--workdir", workdir]
    return options


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def remove(name: str, *, timeout: float = 60) -> None:
    """``podman rm -f`` (stops it within 5 s, then kills); no error when it is already gone."""
    _podman("rm", "-f", "-t", "5", "--ignore", name, timeout=timeout)


def run(
    args: Sequence[str],
    *,
    mounts: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    timeout: float = 600,
    pip_cache: bool = True,
    image: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in a fresh container (removed after); output captured, never raises on rc.

    ``mounts`` maps host paths to container paths. On timeout the container is removed too
    (killing the podman client alone would leave it running) and TimeoutExpired is raised.
    """
    name = _name("authbridge-run")
    argv = podman(
        "run",
        "--rm",
        "--name",
        name,
        *_run_options(mounts, env, workdir, pip_cache),
        image or ensure_image(),
        *args,
    )
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=_podman_env(), check=False
        )
    except subprocess.TimeoutExpired:
        remove(name)
        raise


class Detached:
    """A long-running container started by ``start()``; ``stop()`` (or ``with``) removes it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def running(self) -> bool:
        done = _podman("inspect", "--format", "{{.State.Running}}", self.name)
        return done.returncode == 0 and done.stdout.strip() == "true"

    def logs(self) -> str:
        """stdout and stderr so far (kept after the process exits, until stop())."""
        done = _podman("logs", self.name)
        return done.stdout + done.stderr

    def wait_for_http(self, url: str, *, timeout: float) -> None:
        """Until ``url`` answers any HTTP status; raises with the logs when the process died."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # an HTTP answer, even 4xx/5xx, means it is listening
            except (OSError, http.client.HTTPException) as error:
                if not self.running():
                    raise ContainerError(
                        f"{self.name} exited before {url} answered:\n{self.logs()}"
                    ) from error
                if time.monotonic() > deadline:
                    raise ContainerError(
                        f"{url} did not answer within {timeout} s:\n{self.logs()}"
                    ) from error
            time.sleep(0.25)

    def stop(self) -> None:
        remove(self.name)

    def __enter__(self) -> Detached:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    args: Sequence[str],
    *,
    mounts: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    name: str | None = None,
    pip_cache: bool = False,
    image: str | None = None,
    timeout: float = 120,
) -> Detached:
    """Start ``args`` detached (``podman run -d --name``), e.g. a Django dev server that the host
    reaches on 127.0.0.1 thanks to --network=host. Stop it with ``.stop()`` or a ``with`` block.
    """
    name = name or _name("authbridge-server")
    started = _podman(
        "run",
        "-d",
        "--name",
        name,
        *_run_options(mounts, env, workdir, pip_cache),
        image or ensure_image(),
        *args,
        timeout=timeout,
    )
    if started.returncode != 0:
        remove(name)
        raise ContainerError(f"podman run -d {name} failed:\n{started.stderr}")
    return Detached(name)


def containers() -> list[str]:
    """The names of the containers this module started (label authbridge-test=1) still there."""
    listed = _podman("ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}")
    if listed.returncode != 0:
        raise ContainerError(f"podman ps failed: {listed.stderr}")
    return listed.stdout.split()


def remove_stale(*, prefix: str = "authbridge-") -> list[str]:
    """Remove this module's containers whose name starts with ``prefix`` (e.g. after a test
    process was killed). Returns their names."""
    names = [name for name in containers() if name.startswith(prefix)]
    for name in names:
        remove(name)
    return names


# --- a runner for tests/package/runners.py ------------------------------------------------------

# What the harness passes from the host that must not reach the container: its own PATH, HOME
# and CA variables (the container has its own, and the CA variables above).
HOST_ONLY = ("PATH", "HOME", "SSL_CERT_FILE", "SSL_CERT_DIR")


def _runner_class() -> type:
    """ContainerRunner, built on first use so that importing this module stays cheap."""
    from scripts.harness import stop
    from tests.package.matrix import ROOT
    from tests.package.runners import Runner

    class ContainerRunner(Runner):
        """Runs argv in the image; the host's temporary folder and the repository (read-only)
        are mounted at the same paths and the network is the host's, so the harness's paths
        and 127.0.0.1 mean the same inside and out. Venvs are made with Debian's python3."""

        def __init__(self, name: str, image: str) -> None:
            super().__init__(name, python="python3")
            self.image = image
            self.last_name = ""
            self.names: dict[int, str] = {}

        def host_command(
            self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path
        ) -> tuple[list[str], dict[str, str], Path | None]:
            self.last_name = _name("authbridge-package")
            temporary = tempfile.gettempdir()
            mounts = {temporary: temporary, str(ROOT): f"{ROOT}:ro"}
            inside = {key: value for key, value in env.items() if key not in HOST_ONLY}
            options = _run_options(mounts, inside, str(cwd), pip_cache=False)
            command = podman("run", "--rm", "--name", self.last_name, *options, self.image, *argv)
            return command, _podman_env(), None

        def popen(
            self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
        ) -> subprocess.Popen[bytes]:
            process = super().popen(argv, cwd=cwd, env=env, log=log)
            self.names[process.pid] = self.last_name
            return process

        def stop(self, process: subprocess.Popen[Any]) -> None:
            name = self.names.pop(process.pid, None)
            if name is not None:
                remove(name)
            stop(process, timeout=10)

        def close(self) -> None:
            for name in self.names.values():
                remove(name)

    return ContainerRunner


@contextlib.contextmanager
def runner(name: str) -> Iterator[object]:
    """The runner a package test row names ("py313"): Python 3.13 in a Debian 13 container."""
    if name != "py313":
        raise ContainerError(f"no container runner named {name!r}")
    require()
    made = _runner_class()(name, ensure_image())
    try:
        yield made
    finally:
        made.close()
