"""A throwaway redis-server: loopback, a free port, nothing saved to disk."""

import subprocess
from pathlib import Path

from scripts.harness.processes import find_binary, free_port, start, stop, wait_for_port

REDIS_START_TIMEOUT_SECONDS = 10.0


class RedisServer:
    """``start()``/``stop()`` as often as a caller likes: always the same port and directory,
    so a restart is the same server coming back. Raises MissingBinary without redis-server."""

    def __init__(self, workdir: Path, *, port: int | None = None) -> None:
        self.binary = find_binary("redis-server")
        self.port = port or free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.workdir / f"redis-{self.port}.log"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = start(args, log=self.log)
        wait_for_port(
            self.port, what="redis-server", process=self.process, log=self.log,
            timeout=REDIS_START_TIMEOUT_SECONDS,
        )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def __enter__(self) -> "RedisServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
