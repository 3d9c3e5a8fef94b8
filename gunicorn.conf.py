"""Production defaults for `gunicorn todo_project.wsgi` (read from this directory automatically)."""

import multiprocessing
import os

# Binding and sizing come from the environment so one image fits every host. Loopback by
# default: the proxy (deploy/nginx.conf) is the only public entrance, gunicorn is not one.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
# gthread: the JWKS cache is shared by a worker's threads, so keys are fetched once per process.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
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
