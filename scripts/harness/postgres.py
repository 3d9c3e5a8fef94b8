"""A throwaway PostgreSQL cluster: initdb into a directory of its own, pg_ctl on a free port.

One set of flags for every caller (the stack, its fault test and the benchmark):
- initdb ``--auth=trust -U postgres -E UTF8``: loopback only, no password to hand around;
  ``--no-sync``: nothing of a throwaway cluster must survive a crash of the machine.
- postgres ``listen_addresses=127.0.0.1`` and the socket in the cluster's own directory, so
  the machine's own PostgreSQL (port 5432, /var/run/postgresql) is never touched;
  ``shared_buffers=256MB``: the benchmark's million rows stay in memory, as on a server
  sized for them (the default 128MB made it measure the disk); the stack runs the same server.
- stop ``-m fast``: open sessions are cut, as when an operator restarts the database.
As root the cluster runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

# ruff: noqa: S603  # every command is a fixed binary with our own paths and ports as arguments
import os
import pwd
import subprocess
from pathlib import Path

from scripts.harness.processes import HarnessError, find_binary, free_port, log_tail

PG_USER = "postgres"
INITDB_FLAGS = ("-U", PG_USER, "--auth=trust", "-E", "UTF8", "--no-sync")
SERVER_SETTINGS = ("listen_addresses=127.0.0.1", "shared_buffers=256MB")
PG_TIMEOUT_SECONDS = 120


def postgres_bin_dirs() -> list[str]:
    """$PG_BIN, then Debian's /usr/lib/postgresql/<version>/bin, newest first."""
    found = sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)
    return [os.environ["PG_BIN"], *found] if os.environ.get("PG_BIN") else found


class PostgresCluster:
    """``init()`` once, then ``start()``/``stop()`` as often as a caller likes (same port)."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory  # holds data/, the log and the socket
        self.port = port or free_port()
        self.initdb = find_binary("initdb", *postgres_bin_dirs())
        self.pg_ctl = find_binary("pg_ctl", *postgres_bin_dirs())

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def log(self) -> Path:
        return self.directory / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def _run(self, *argv: str) -> None:
        as_postgres = ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*as_postgres, *argv], capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            output = f"{done.stdout}{done.stderr}\n{log_tail(self.log)}"
            raise HarnessError(f"{' '.join(argv[:2])} failed ({done.returncode}):\n{output}")

    def init(self) -> None:
        self.directory.mkdir(mode=0o700)
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            # the postgres user must reach its directory: search, not listing, on the parent
            parent = self.directory.parent
            parent.chmod(parent.stat().st_mode | 0o011)
        self._run(self.initdb, "-D", str(self.data), *INITDB_FLAGS)

    def start(self) -> None:
        options = [f"-p {self.port}", f"-k {self.directory}"]
        options += [f"-c {setting}" for setting in SERVER_SETTINGS]
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w",
                  "-o", " ".join(options), "start")  # fmt: skip

    def stop(self) -> None:
        if self.running:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its URL."""
        psql = find_binary("psql", *postgres_bin_dirs())
        self._run(psql, "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, "-q",
                  "-c", f'CREATE DATABASE "{name}"')  # fmt: skip
        return self.url(name)
