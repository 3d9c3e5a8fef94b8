"""Production defaults for `gunicorn todo_project.wsgi` (read from this directory automatically)."""

import multiprocessing
import os

# Binding and sizing come from the environment so one image fits every host. Loopback by
# default: the proxy (deploy/) is the only public entrance, gunicorn is not one.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Worker model, chosen from `make bench` figures (docs/PERFORMANCE.md, "The server"):
# - sync, not gthread: on 2 cores every request is CPU-bound Python, so threads only add GIL
#   hand-offs; sync served health and list faster than gthread with 4 threads in every
#   round. sync keeps no connection alive: run it behind nginx (which buffers slow clients
#   and keeps its own client connections open), as gunicorn's documentation advises.
#   GUNICORN_THREADS > 1 turns gthread back on (gunicorn switches by itself).
# - 2 x cores + 1 workers: a worker waiting on PostgreSQL leaves the core to another.
# - preload_app: the app is imported once in the master; a worker that max_requests
#   recycles is a fork of it (milliseconds) instead of a fresh Django start (about a second
#   of CPU, with both workers restarting together under load: a stall of seconds in the
#   benchmark). The JWKS cache is filled lazily in each worker, never in the master.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
worker_class = "sync"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5  # used only by gthread
max_requests = 2000
max_requests_jitter = 1000  # spread recycling so workers do not restart together
# No access log by default: the app already writes one JSON line per request (request id,
# route, status, duration, user, client IP; todo_project/requestlog.py), and a second,
# plain-text line per request is work on every request (docs/PERFORMANCE.md).
# GUNICORN_ACCESS_LOG=- (or a file) turns gunicorn's own back on.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# Access logs must never carry credentials: no Authorization header in the format.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


# Prometheus multiprocess mode (todo_project.metrics): every worker writes its samples to
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
