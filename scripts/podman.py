"""Podman on these machines: tools, a locally built Debian base, the app image (`make image`).

No base image is pulled. The Debian root filesystem is built here with ``mmdebstrap`` from the
Debian mirror the host's apt already uses (read at run time from /etc/apt, never written into a
file), ``podman import``-ed once and cached: the image carries a label with the hash of its
recipe, so a recipe change rebuilds it and an unchanged one is reused. Every podman command runs
with the runc runtime and a CONTAINERS_CONF file (no default ulimits, the cgroupfs manager), and
builds and containers use the host network. Downloads pass a TLS proxy whose CA only the host
bundle holds: the bundle is mounted read-only into builds (and containers that download), never
copied into an image.

    ensure_tools()                                   # podman, runc, mmdebstrap, catatonit
    base = ensure_base_image()                       # localhost/debian:bookworm-slim
    tag = build_app_image(Path("."))                 # localhost/todo-api:latest (make image)
    subprocess.run(podman("run", "--rm", tag, "release"), env=podman_env())

Command line: ``python3 -m scripts.podman image`` (what `make image` runs) and
``python3 -m scripts.podman base``. Standard library only: `make image` needs no virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"
BUILD_CA_ID = "build-ca"  # the Dockerfile's RUN --mount=type=secret,id=build-ca
# command -> Debian package. catatonit is podman's --init (only a Recommends of podman).
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap", "catatonit": "catatonit"}
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n'
MIRROR_VARIABLES = ("DEBIAN_MIRROR", "AUTHBRIDGE_DEBIAN_MIRROR")  # override the apt sources
TMP_VARIABLE = "PODMAN_ROOTFS_TMP"  # where a rootfs is built (needs ~1 GiB)
MIN_FREE_BYTES = 1 << 30
APT_SOURCES = Path("/etc/apt")
RECIPE_LABEL = "org.todo-api.recipe"
APP_IMAGE = "localhost/todo-api:latest"
# What Docker Hub's debian:*-slim leaves out: manuals, documentation (not the licences), locales.
SLIM_DPKG_OPTIONS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)


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


# --- tools --------------------------------------------------------------------------------------


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


# --- the Debian mirror --------------------------------------------------------------------------


def _source_entries(text: str, *, deb822: bool) -> Iterator[str]:
    """The URI of every enabled `deb` entry in one apt sources file."""
    if not deb822:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                yield words[1]
        return
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        yield from fields.get("uris", "").split()


def debian_mirror(sources: Path = APT_SOURCES) -> str:
    """The Debian archive the host's apt uses (read at run time, never written into a file).

    The first enabled `deb` URI whose path ends in /debian (so not /debian-security) in
    sources.list, then sources.list.d/*.list and *.sources; $DEBIAN_MIRROR overrides.
    """
    for variable in MIRROR_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable].rstrip("/")
    for uri in _source_uris(sources):
        if uri.endswith("/debian"):
            return uri
    raise ContainerError(
        f"no Debian mirror in {sources}/sources.list(.d); set {MIRROR_VARIABLES[0]} to one"
    )


def debian_security_mirror(sources: Path = APT_SOURCES) -> str | None:
    """The host's Debian security archive (a `deb` URI ending in /debian-security), or None;
    $DEBIAN_SECURITY_MIRROR overrides."""
    if os.environ.get("DEBIAN_SECURITY_MIRROR"):
        return os.environ["DEBIAN_SECURITY_MIRROR"].rstrip("/")
    return next((uri for uri in _source_uris(sources) if uri.endswith("/debian-security")), None)


def _source_uris(sources: Path) -> Iterator[str]:
    """The http(s) URIs of the enabled `deb` entries, without a trailing "/", in apt's order:
    sources.list, then sources.list.d/*.list and *.sources."""
    files = [sources / "sources.list"]
    parts = sources / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if not path.is_file():
            continue
        for uri in _source_entries(path.read_text(), deb822=path.suffix == ".sources"):
            if re.match(r"https?://", uri):
                yield uri.rstrip("/")


# --- locally built base images ------------------------------------------------------------------


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


@contextlib.contextmanager
def build_lock(name: str = "build.lock") -> Iterator[None]:
    """One builder at a time across processes (pytest-xdist workers, parallel runs)."""
    with (cache_dir() / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


# --- the app image ------------------------------------------------------------------------------


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.podman", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("base", help="build (or reuse) localhost/debian:bookworm-slim")
    image = commands.add_parser("image", help="build the app image from the Dockerfile")
    image.add_argument("--tag", default=APP_IMAGE)
    image.add_argument("--context", type=Path, default=Path(__file__).resolve().parent.parent)
    image.add_argument(
        "--refresh",
        action="store_true",
        help="rebuild the base and every layer: today's Debian security fixes",
    )
    args = parser.parse_args(argv)
    try:
        reason = unavailable()
        if reason:
            raise ContainerError(reason)
        ensure_tools()
        if args.command == "base":
            sys.stdout.write(ensure_base_image() + "\n")
        else:
            tag = build_app_image(args.context, tag=args.tag, refresh=args.refresh)
            sys.stdout.write(tag + "\n")
    except ContainerError as error:
        progress(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
