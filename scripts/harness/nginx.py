"""nginx from the shipped site templates (deploy/), in the foreground under a prefix of ours."""

import os
import re
import subprocess
from pathlib import Path

from scripts.harness.processes import find_binary, start

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx-todo-api.conf.template"
BEHIND_LB_TEMPLATE = REPO / "deploy" / "nginx-todo-api-behind-lb.conf.template"
CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")  # the example frontend
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_nginx_site(
    *,
    listen: int,
    upstreams: list[int],
    per_ip_rate: str,
    burst: int,
    metrics_listen: int,
    cors_origins: tuple[str, ...] = CORS_ORIGINS,
    admin_allow: tuple[str, ...] = ("127.0.0.1",),
    metrics_allow: tuple[str, ...] = ("127.0.0.1",),
    balancer_range: str | None = None,
) -> str:
    """A shipped template with our values, like ``envsubst`` with a list of variables:
    the balancer variant when ``balancer_range`` is given, else the direct one."""
    values = {
        "TODO_LISTEN": f"127.0.0.1:{listen}",
        "TODO_SERVER_NAME": "127.0.0.1 localhost",
        "TODO_UPSTREAMS": " ".join(f"server 127.0.0.1:{port};" for port in upstreams),
        "TODO_PER_IP_RATE": per_ip_rate,
        "TODO_PER_IP_BURST": str(burst),
        "TODO_CORS_ORIGINS": " ".join(f'"{origin}" 1;' for origin in cors_origins),
        "TODO_ADMIN_ALLOW": " ".join(f"allow {address};" for address in admin_allow),
        "TODO_METRICS_LISTEN": f"127.0.0.1:{metrics_listen}",
        "TODO_METRICS_ALLOW": " ".join(f"allow {address};" for address in metrics_allow),
        "TODO_METRICS_INSTANCES": " ".join(f"{port} 127.0.0.1:{port};" for port in upstreams),
        "TODO_BALANCER_RANGE": balancer_range or "",
    }
    template = BEHIND_LB_TEMPLATE if balancer_range else TEMPLATE
    return re.sub(r"\$\{(TODO_[A-Z_]+)\}", lambda m: values[m[1]], template.read_text())


def start_nginx(prefix: Path, site: str, *, log: Path) -> "subprocess.Popen[bytes]":
    """nginx in the foreground with ``site`` as its only site, everything under ``prefix``."""
    nginx = find_binary("nginx")
    prefix.mkdir(exist_ok=True)
    prefix.chmod(0o777)  # nginx workers run as nobody and keep request bodies here
    (prefix / "todo-api.conf").write_text(site)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log stderr warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {prefix}/{kind};\n" for kind in TEMP_KINDS)
        + f"  include {prefix}/todo-api.conf;\n}}\n"
    )
    conf = str(prefix / "nginx.conf")
    return start([nginx, "-p", str(prefix), "-c", conf, "-g", "daemon off;"], log=log)
