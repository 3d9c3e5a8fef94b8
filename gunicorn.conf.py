"""Production defaults for `gunicorn todo_project.wsgi` (read from this directory automatically)."""

import math
import os
from pathlib import Path

# Binding and sizing come from the environment so one image fits every host. Loopback by
# default: the proxy (deploy/) is the only public entrance, gunicorn is not one.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Worker model, chosen from `make bench` figures (docs/PERFORMANCE.md, "The server" and
# "Workers and threads"):
# - sync, not gthread: on 2 cores every request is CPU-bound Python, so threads only add GIL
#   hand-offs; sync served health and list faster than gthread with 4 threads in every
#   round, and had the lowest p99 on /api/me, the list and create in round two. sync
#   keeps no connection alive: run it behind nginx (which buffers slow clients and keeps its
#   own client connections open), as gunicorn's documentation advises.
#   GUNICORN_THREADS > 1 turns gthread back on (gunicorn switches by itself), and so does
#   GUNICORN_WORKER_CLASS=gthread: the container image's default (4 threads: a new connection
#   holds a thread until its request arrives, so silent clients must not take them all), for
#   when nothing buffers in front (docs/DEPLOY.md, "Containers").
# - 2 x cores + 1 workers: a worker waiting on PostgreSQL leaves the core to another.
# - preload_app: the app is imported once in the master; a worker that max_requests
#   recycles is a fork of it (milliseconds) instead of a fresh Django start (about a second
#   of CPU, with both workers restarting together under load: a stall of seconds in the
#   benchmark). The JWKS cache is filled lazily in each worker, never in the master.


def cgroup_cpu_quota(
    cgroup_root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (1.5 = one and a half), None when unlimited.

    cgroup v2: the smallest ``cpu.max`` ("<quota> <period>" or "max <period>") from this
    process's cgroup up to the root: a container's `--cpus`, Kubernetes' CPU limit, systemd's
    CPUQuota=. cgroup v1: ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1: unlimited).
    """
    quotas: list[float] = []
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    own = next((line[3:] for line in lines if line.startswith("0::")), "/")
    directory = cgroup_root / own.lstrip("/")
    while True:
        try:
            quota, _, period = (directory / "cpu.max").read_text().partition(" ")
            if quota != "max":
                quotas.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if directory == cgroup_root or cgroup_root not in directory.parents:
            break
        directory = directory.parent
    for v1 in (cgroup_root / "cpu", cgroup_root / "cpu,cpuacct"):
        try:
            quota_us = int((v1 / "cpu.cfs_quota_us").read_text())
            period_us = int((v1 / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        if quota_us > 0 and period_us > 0:
            quotas.append(quota_us / period_us)
    return min(quotas) if quotas else None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), capped by the cgroup CPU quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = cgroup_cpu_quota()
    if quota is not None:
        return max(1, min(count or 1, math.ceil(quota)))
    return max(1, count or 1)


# Sized from the CPUs this container or unit may use, not the host's core count: on a 64-core
# host a container limited to 2 CPUs runs 5 workers, not 8 that fight over 2 CPUs' time.
workers = int(os.environ.get("WEB_CONCURRENCY", min(available_cpus() * 2 + 1, 8)))
# GUNICORN_WORKER_CLASS=gthread (the container image's default): idle connections wait in the
# worker's poller, not in a thread, so clients that connect and send nothing cannot freeze it
# when it is exposed without nginx (Fly, Cloud Run, a bare `docker run -p`).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5  # used only by gthread
# The request limits nginx enforces in front (deploy/), for when nothing is in front: request
# line and one header up to 8 KiB (a bearer token may be 8 KiB), at most 100 headers. Bodies
# over 64 KiB answer 413 from Django (DATA_UPLOAD_MAX_MEMORY_SIZE, CONTRACT §8).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16380
max_requests = 2000
max_requests_jitter = 1000  # spread recycling so workers do not restart together
# No access log by default: the app already writes one JSON line per request (request id,
# route, status, duration, user, client IP; edge/requestlog.py), and a second,
# plain-text line per request is work on every request (docs/PERFORMANCE.md).
# GUNICORN_ACCESS_LOG=- (or a file) turns gunicorn's own back on.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# Access logs must never carry credentials: no Authorization header in the format.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


# Prometheus multiprocess mode (edge.metrics): every worker writes its samples to
# PROMETHEUS_MULTIPROC_DIR; start each instance with an empty one, forget dead workers' gauges.
def on_starting(server: object) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
