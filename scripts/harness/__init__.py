"""One harness for the production shape: ports, polling, the stop policy, a throwaway Redis
and PostgreSQL cluster, nginx from the shipped templates and the production environment.

Used by scripts/stack.py (`make stack`), bench/ (`make bench`) and the tests that start
servers (tests/ops, tests/browser, tests/package, tests/image). Standard library only.
"""

from scripts.harness.env import production_env, without_project_variables
from scripts.harness.nginx import CORS_ORIGINS, render_nginx_site, start_nginx
from scripts.harness.postgres import PostgresCluster, postgres_bin_dirs
from scripts.harness.processes import (
    HarnessError,
    MissingBinary,
    find_binary,
    free_port,
    http_ok,
    kill,
    log_tail,
    port_open,
    start,
    stop,
    wait_for_http,
    wait_for_port,
    wait_until,
)
from scripts.harness.redis import RedisServer

__all__ = [
    "CORS_ORIGINS",
    "HarnessError",
    "MissingBinary",
    "PostgresCluster",
    "RedisServer",
    "find_binary",
    "free_port",
    "http_ok",
    "kill",
    "log_tail",
    "port_open",
    "postgres_bin_dirs",
    "production_env",
    "render_nginx_site",
    "start",
    "start_nginx",
    "stop",
    "wait_for_http",
    "wait_for_port",
    "wait_until",
    "without_project_variables",
]
