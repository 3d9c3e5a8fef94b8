"""Ports, polling and the one stop policy for every throwaway process we start.

Every wait ends in a ``HarnessError`` that names what did not come up and, when the process
writes a log, ends with the log's tail: a timeout in CI then says why without a re-run.
"""

# ruff: noqa: S603  # every command is a fixed binary with our own paths and ports as arguments
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 20.0
LOG_TAIL_CHARS = 3000
# Where Debian puts what `apt-get install` provides; how to get a binary that is missing.
SBIN_PATH = "/usr/sbin:/sbin"
PACKAGES = {"nginx": "nginx", "redis-server": "redis-server", "initdb": "postgresql",
            "pg_ctl": "postgresql", "psql": "postgresql-client", "wrk": "wrk"}  # fmt: skip


class HarnessError(RuntimeError):
    """Something a throwaway server needs is missing or did not start; the message says what."""


class MissingBinary(HarnessError):
    """A program is not installed; tests turn this into skip-or-fail (tests/ops/servers.py)."""


def find_binary(name: str, *extra_dirs: str) -> str:
    """``name`` from ``extra_dirs`` first, then PATH and the sbin directories."""
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name) or shutil.which(name, path=SBIN_PATH)
    if found is None:
        package = PACKAGES.get(name, name)
        raise MissingBinary(f"{name} is not installed (Debian: apt-get install -y {package})")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    """True when ``url`` answers 200 within two seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310  # loopback
            return bool(response.status == 200)
    except OSError:
        return False


def log_tail(log: Path | None, chars: int = LOG_TAIL_CHARS) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-chars:]


def _failure(message: str, log: Path | None) -> HarnessError:
    tail = log_tail(log)
    return HarnessError(f"{message}; {log} ends with:\n{tail}" if tail else message)


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float = START_TIMEOUT_SECONDS,
    process: "subprocess.Popen[Any] | None" = None,
    log: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; stop early when ``process`` exits."""
    deadline = time.monotonic() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise _failure(f"{what} exited with status {process.returncode}", log)
        if time.monotonic() > deadline:
            raise _failure(f"{what} did not come up within {timeout:.0f}s", log)
        time.sleep(0.1)


def wait_for_port(port: int, *, what: str | None = None, **options: Any) -> None:
    wait_until(lambda: port_open(port), what=what or f"127.0.0.1:{port}", **options)


def wait_for_http(url: str, *, what: str | None = None, **options: Any) -> None:
    """Until ``url`` answers 200 (``options``: those of ``wait_until``)."""
    wait_until(lambda: http_ok(url), what=what or url, **options)


def start(
    argv: Sequence[str],
    *,
    log: Path | None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> "subprocess.Popen[bytes]":
    """``argv`` in a session of its own (so ``stop`` reaches its children), output to ``log``
    (appended; None: discarded)."""
    with open(log, "ab") if log else open(os.devnull, "wb") as output:
        return subprocess.Popen(
            list(argv), env=None if env is None else dict(env), cwd=cwd,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _signal(process: "subprocess.Popen[Any]", signum: int) -> None:
    """To the process group when the process leads one (``start``'s processes: gunicorn's
    workers, nginx's), else to the process alone: never to the group we run in ourselves."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)


def stop(process: "subprocess.Popen[Any]", *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """The one stop policy: SIGTERM, up to ``timeout`` seconds for a graceful exit, SIGKILL."""
    if process.poll() is None:
        _signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            pass
    kill(process)


def kill(process: "subprocess.Popen[Any]") -> None:
    """SIGKILL, as a crash or an OOM kill would end it (and what is left of its group)."""
    _signal(process, signal.SIGKILL)
    process.wait(timeout=30)
