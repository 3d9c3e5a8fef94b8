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
cannot run on this machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

SUITE = "trixie"  # Debian 13: its python3 is 3.13
PACKAGES = ("python3", "python3-venv", "ca-certificates")
IMAGE_NAME = "localhost/authbridge-py313"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA = "/etc/ssl/certs/ca-certificates.crt"
CONTAINER_PIP_CACHE = "/root/.cache/pip"
# command -> Debian package; catatonit is podman's --init (only a Recommends of podman): as PID 1
# it forwards SIGTERM, so `podman rm -f` stops a server (or a timed-out run) at once.
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap", "catatonit": "catatonit"}
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n'
IMAGE_CHANGES = (
    "ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV=LANG=C.UTF-8",
    'CMD=["python3"]',
)
# Everything that decides the image's content; its hash is the tag, so a change rebuilds.
RECIPE = f"mmdebstrap --variant=minbase --include={','.join(PACKAGES)} {SUITE}; {IMAGE_CHANGES}"
MIRROR_VARIABLE = "AUTHBRIDGE_DEBIAN_MIRROR"  # overrides the mirror read from apt's sources
TMP_VARIABLE = "AUTHBRIDGE_CONTAINER_TMP"  # where the rootfs is built (needs ~1 GiB)
MIN_FREE_BYTES = 1 << 30
APT_SOURCES = Path("/etc/apt")
LABEL = "authbridge-test=1"


class ContainerError(RuntimeError):
    """Containers cannot run here, or a container step failed (the message says which)."""


def _progress(message: str) -> None:
    sys.stderr.write(f"container: {message}\n")
    sys.stderr.flush()


def _is_root() -> bool:
    return os.geteuid() == 0


def cache_dir() -> Path:
    """Where the CONTAINERS_CONF file, the build lock and the pip cache live."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        "/var/cache" if _is_root() else str(Path.home() / ".cache")
    )
    path = Path(base) / "authbridge-container"
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


def _podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}


def podman(*args: str) -> list[str]:
    """The argv of one podman command (always the runc runtime)."""
    return ["podman", "--runtime", "runc", *args]


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        podman(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_podman_env(),
        check=False,
    )


# --- tools --------------------------------------------------------------------------------------


def missing_tools() -> list[str]:
    """The commands of TOOLS not on PATH."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def unavailable() -> str | None:
    """Why containers cannot run here (missing tools that cannot be installed, no CA...), or None.

    Shell-free and quick: nothing is installed or built.
    """
    if not sys.platform.startswith("linux"):
        return f"containers need Linux, not {sys.platform}"
    if not HOST_CA.is_file():
        return f"no host CA bundle at {HOST_CA} to mount into the container"
    missing = missing_tools()
    if missing and not (_is_root() and shutil.which("apt-get")):
        return (
            f"{', '.join(missing)} not installed and cannot be installed here "
            f"(needs root and apt-get: apt-get install {' '.join(TOOLS.values())})"
        )
    if not _is_root():
        return "building the Debian 13 image with mmdebstrap and running rootful podman need root"
    return None


def ensure_tools() -> None:
    """Install podman, runc and mmdebstrap with apt-get when one is missing (root only)."""
    missing = missing_tools()
    if not missing:
        return
    packages = [TOOLS[tool] for tool in missing]
    if not _is_root() or shutil.which("apt-get") is None:
        raise ContainerError(
            f"{', '.join(missing)} not installed; as root: apt-get install {' '.join(packages)}"
        )
    _progress(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *packages]
    for argv in (["apt-get", "-q", "update"], install):
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise ContainerError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")
    still = missing_tools()
    if still:
        raise ContainerError(f"apt-get installed {' '.join(packages)} but {still} still missing")


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


def _source_entries(text: str, *, deb822: bool) -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of every enabled `deb` entry in one apt sources file."""
    if not deb822:
        for line in text.splitlines():
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                yield words[1], [words[2]]
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
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split()


def debian_mirror(sources: Path = APT_SOURCES) -> str:
    """The Debian archive the host's apt uses (never written into a file: read at run time).

    The first enabled `deb` URI whose path ends in /debian (so not /debian-security) in
    sources.list, then sources.list.d/*.list and *.sources; $AUTHBRIDGE_DEBIAN_MIRROR overrides.
    """
    override = os.environ.get(MIRROR_VARIABLE)
    if override:
        return override
    files = [sources / "sources.list"]
    parts = sources / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if not path.is_file():
            continue
        for uri, _suites in _source_entries(path.read_text(), deb822=path.suffix == ".sources"):
            if re.match(r"https?://", uri) and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise ContainerError(
        f"no Debian mirror in {sources}/sources.list(.d); set {MIRROR_VARIABLE} to one"
    )


def image_tag() -> str:
    """``localhost/authbridge-py313:<12 hex digits of the recipe's sha256>``."""
    return f"{IMAGE_NAME}:{hashlib.sha256(RECIPE.encode()).hexdigest()[:12]}"


def image_exists(tag: str) -> bool:
    return _podman("image", "exists", tag).returncode == 0


def _build_dir() -> Path:
    """A directory with room for the rootfs: $AUTHBRIDGE_CONTAINER_TMP, $TMPDIR (or /tmp), or
    the cache directory."""
    candidates = [os.environ.get(TMP_VARIABLE), tempfile.gettempdir(), str(cache_dir())]
    for candidate in candidates:
        if not candidate or not os.path.isdir(candidate) or not os.access(candidate, os.W_OK):
            continue
        if shutil.disk_usage(candidate).free >= MIN_FREE_BYTES:
            return Path(candidate)
    raise ContainerError(
        f"no writable directory with 1 GiB free among {candidates}; set {TMP_VARIABLE}"
    )


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    """One builder at a time across processes (pytest-xdist workers, parallel runs)."""
    with (cache_dir() / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_image(*, timeout: float = 1800) -> str:
    """The tag of the Python 3.13 / Debian 13 image, built with mmdebstrap the first time."""
    ensure_tools()
    tag = image_tag()
    if image_exists(tag):
        return tag
    with _lock("build.lock"):
        if image_exists(tag):  # another process built it while this one waited
            return tag
        _build(tag, timeout=timeout)
    return tag


def _build(tag: str, *, timeout: float) -> None:
    if not _is_root():
        raise ContainerError("building the image runs mmdebstrap in root mode: run as root")
    mirror = debian_mirror()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="authbridge-rootfs-", dir=_build_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        _progress(f"building {tag}: mmdebstrap {SUITE} ({', '.join(PACKAGES)}) into {tmp}")
        argv = [
            "mmdebstrap",
            "--mode=root",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            f"deb {mirror} {SUITE} main",
        ]
        built = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "TMPDIR": tmp},
            check=False,
        )
        if built.returncode != 0 or not rootfs.is_file():
            raise ContainerError(f"mmdebstrap failed ({built.returncode}):\n{built.stderr[-4000:]}")
        size = rootfs.stat().st_size / 1e6
        _progress(f"rootfs {size:.0f} MB in {time.monotonic() - started:.0f} s; podman import")
        changes = [arg for change in IMAGE_CHANGES for arg in ("--change", change)]
        imported = _podman(
            "import", *changes, "--message", RECIPE, str(rootfs), tag, timeout=timeout
        )
        if imported.returncode != 0:
            raise ContainerError(f"podman import failed:\n{imported.stderr[-4000:]}")
    _progress(f"built {tag} in {time.monotonic() - started:.0f} s")


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
