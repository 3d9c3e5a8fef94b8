"""Locally built Debian base images: mmdebstrap + podman import, cached under a label with the
hash of their recipe (a changed recipe rebuilds, an unchanged one is reused)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.podman.mirrors import debian_mirror, debian_security_mirror
from scripts.podman.tools import (
    ContainerError,
    build_lock,
    cache_dir,
    ensure_tools,
    is_root,
    progress,
    run_podman,
)

TMP_VARIABLE = "PODMAN_ROOTFS_TMP"  # where a rootfs is built (needs ~1 GiB)
MIN_FREE_BYTES = 1 << 30
RECIPE_LABEL = "org.todo-api.recipe"
# What Docker Hub's debian:*-slim leaves out: manuals, documentation (not the licences), locales.
SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)


@dataclass(frozen=True)
class RootfsImage:
    """A Debian image made with mmdebstrap + podman import; ``recipe`` decides its content."""

    tag: str
    suite: str
    packages: tuple[str, ...] = ()
    changes: tuple[str, ...] = (
        "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "ENV=LANG=C.UTF-8",
        'CMD=["bash"]',
    )
    dpkg_options: tuple[str, ...] = field(default=SLIM_DPKG_OPTIONS)
    # Also <suite>-updates and <suite>-security, as Docker Hub's debian images list them: the
    # image's own `apt-get` then installs security fixes.
    updates: bool = False

    @property
    def recipe(self) -> str:
        recipe = (
            f"mmdebstrap --variant=minbase --include={','.join(self.packages)} "
            f"--dpkgopt={','.join(self.dpkg_options)} {self.suite}; {self.changes}"
        )
        return f"{recipe}; updates" if self.updates else recipe

    def sources(self) -> list[str]:
        """The sources.list lines of the image (mirrors read from the host's apt, now)."""
        mirror = debian_mirror()
        lines = [f"deb {mirror} {self.suite} main"]
        if self.updates:
            lines.append(f"deb {mirror} {self.suite}-updates main")
            security = debian_security_mirror()
            if security is None:
                progress(f"no /debian-security in the host's apt sources: no {self.suite}-security")
            else:
                lines.append(f"deb {security} {self.suite}-security main")
        return lines

    @property
    def recipe_hash(self) -> str:
        return hashlib.sha256(self.recipe.encode()).hexdigest()[:12]


# The FROM of the Dockerfile: what Docker Hub calls debian:bookworm-slim, built here.
DEBIAN_BOOKWORM_SLIM = RootfsImage(
    tag="localhost/debian:bookworm-slim", suite="bookworm", updates=True
)


def image_label(tag: str, label: str) -> str | None:
    """The value of one label of a local image; None when the image (or the label) is absent."""
    done = run_podman("image", "inspect", "--format", f'{{{{index .Labels "{label}"}}}}', tag)
    if done.returncode != 0:
        return None
    value = done.stdout.strip()
    return value if value and value != "<no value>" else None


def _build_dir() -> Path:
    """A directory with 1 GiB free for the rootfs: $PODMAN_ROOTFS_TMP, $TMPDIR or the cache."""
    candidates = [os.environ.get(TMP_VARIABLE), tempfile.gettempdir(), str(cache_dir())]
    for candidate in candidates:
        if not candidate or not os.path.isdir(candidate) or not os.access(candidate, os.W_OK):
            continue
        if shutil.disk_usage(candidate).free >= MIN_FREE_BYTES:
            return Path(candidate)
    raise ContainerError(f"no writable directory with 1 GiB free in {candidates}")


def ensure_rootfs_image(image: RootfsImage, *, timeout: float = 1800, refresh: bool = False) -> str:
    """``image.tag``, built with mmdebstrap unless a build of the same recipe is there (or
    ``refresh``: built anew, with today's packages)."""
    ensure_tools()
    if not refresh and image_label(image.tag, RECIPE_LABEL) == image.recipe_hash:
        return image.tag
    with build_lock():
        if not refresh and image_label(image.tag, RECIPE_LABEL) == image.recipe_hash:
            return image.tag  # another process built it while this one waited
        _build_rootfs_image(image, timeout=timeout)
    return image.tag


def _build_rootfs_image(image: RootfsImage, *, timeout: float) -> None:
    if not is_root():
        raise ContainerError("mmdebstrap builds the base image in root mode: run as root")
    sources = image.sources()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="podman-rootfs-", dir=_build_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        progress(f"building {image.tag}: mmdebstrap --variant=minbase {image.suite}")
        argv = ["mmdebstrap", "--mode=root", "--variant=minbase", "--quiet"]
        if image.packages:
            argv.append(f"--include={','.join(image.packages)}")
        argv += [f"--dpkgopt={option}" for option in image.dpkg_options]
        argv += [image.suite, str(rootfs), *sources]
        built = subprocess.run(  # noqa: S603
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "TMPDIR": tmp},
        )
        if built.returncode != 0 or not rootfs.is_file():
            raise ContainerError(f"mmdebstrap failed ({built.returncode}):\n{built.stderr[-4000:]}")
        size = rootfs.stat().st_size / 1e6
        progress(f"rootfs {size:.0f} MB in {time.monotonic() - started:.0f} s; podman import")
        changes = (*image.changes, f"LABEL={RECIPE_LABEL}={image.recipe_hash}")
        options = [arg for change in changes for arg in ("--change", change)]
        imported = run_podman(
            "import", *options, "--message", image.recipe, str(rootfs), image.tag, timeout=timeout
        )
        if imported.returncode != 0:
            raise ContainerError(f"podman import failed:\n{imported.stderr[-4000:]}")
    progress(f"built {image.tag} in {time.monotonic() - started:.0f} s")


def ensure_base_image(*, refresh: bool = False) -> str:
    """localhost/debian:bookworm-slim, the Dockerfile's base."""
    return ensure_rootfs_image(DEBIAN_BOOKWORM_SLIM, refresh=refresh)
