"""The app image (`make image`): `podman build` of the Dockerfile on the local Debian base."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from scripts.podman.rootfs import ensure_base_image
from scripts.podman.tools import (
    BUILD_CA_ID,
    HOST_CA,
    ContainerError,
    build_lock,
    podman,
    podman_env,
    progress,
)

APP_IMAGE = "localhost/todo-api:latest"


def build_args() -> list[str]:
    """Options every ``podman build`` here needs: host network, Docker format (podman keeps
    HEALTHCHECK only in it), and the host CA as a build secret: mounted only into the RUN steps
    that ask for it, never part of a layer (a `-v` mount would leave its mount point behind)."""
    options = ["--format", "docker", "--network=host", "--layers"]
    options += ["--secret", f"id={BUILD_CA_ID},src={HOST_CA}"]
    return options


def build_app_image(
    context: Path,
    *,
    tag: str = APP_IMAGE,
    extra: Sequence[str] = (),
    timeout: float = 1800,
    refresh: bool = False,
) -> str:
    """``podman build`` of context/Dockerfile on the local base; returns the tag.

    ``refresh``: a new base and no cached layer, so every Debian and Python package is
    downloaded again (security fixes); otherwise unchanged steps are reused (seconds).
    """
    base = ensure_base_image(refresh=refresh)
    if refresh:
        extra = ("--no-cache", *extra)
    started = time.monotonic()
    argv = podman(
        "build",
        *build_args(),
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--tag",
        tag,
        *extra,
        str(context),
    )
    progress(f"building {tag} from {context}/Dockerfile")
    with build_lock("app-build.lock"):
        done = subprocess.run(argv, env=podman_env(), timeout=timeout)  # noqa: S603
    if done.returncode != 0:
        raise ContainerError(f"podman build failed ({done.returncode}), output above")
    progress(f"built {tag} in {time.monotonic() - started:.0f} s")
    return tag
