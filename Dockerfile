# The Todo API's container image: `make image` (podman), or `docker build .` anywhere.
# Debian bookworm-slim with Debian's Python 3.11, the main lock only (hash-checked), static files
# collected at build, a non-root user, gunicorn on 0.0.0.0:${PORT:-8000}. Commands (the entry
# point, deploy/container/entrypoint): serve (default), release, purge, manage ..., healthcheck.
#
# No .env, no virtualenv, no node_modules enter the build context (.dockerignore allows only the
# code). Downloads may pass a TLS proxy: `make image` hands the host's CA bundle to the RUN steps
# that download as a build secret (--secret id=build-ca), mounted at /run/build-ca.crt for that
# step only: it is in no layer. Without the secret (a plain `docker build`) the defaults apply.

# `make image` builds this one locally with mmdebstrap (scripts/podman/): nothing is pulled.
ARG BASE_IMAGE=localhost/debian:bookworm-slim

FROM ${BASE_IMAGE} AS python
# Debian's python3 (3.11) and the CA bundle the JWKS fetch over HTTPS needs.
RUN --mount=type=secret,id=build-ca,target=/run/build-ca.crt set -eu; \
    ca=""; if [ -f /run/build-ca.crt ]; then ca="-o Acquire::https::CAInfo=/run/build-ca.crt"; fi; \
    apt-get $ca update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get $ca upgrade -y -q; \
    DEBIAN_FRONTEND=noninteractive apt-get $ca install -y -q --no-install-recommends \
        python3 ca-certificates; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log

FROM python AS build
RUN --mount=type=secret,id=build-ca,target=/run/build-ca.crt set -eu; \
    ca=""; if [ -f /run/build-ca.crt ]; then ca="-o Acquire::https::CAInfo=/run/build-ca.crt"; fi; \
    apt-get $ca update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get $ca install -y -q --no-install-recommends python3-venv
RUN python3 -m venv /opt/venv
# Only the main lock, every file checked against its hash; the dev lock never enters.
COPY requirements/main.txt /tmp/requirements.txt
RUN --mount=type=secret,id=build-ca,target=/run/build-ca.crt set -eu; \
    if [ -f /run/build-ca.crt ]; then export PIP_CERT=/run/build-ca.crt; fi; \
    /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --quiet \
        --require-hashes --no-deps -r /tmp/requirements.txt; \
    /opt/venv/bin/pip check; \
    /opt/venv/bin/pip uninstall --yes --quiet pip setuptools 2>/dev/null || true
COPY . /app
WORKDIR /app
# Static files at build (whitenoise serves them). The key only lets settings load here; it is
# in no layer's environment, and no .env is read (DJANGO_ENV_FILE=/dev/null).
RUN DJANGO_ENV_FILE=/dev/null DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-at-build-only \
    /opt/venv/bin/python manage.py collectstatic --no-input -v 0 \
    && /opt/venv/bin/python -m compileall -q /app /opt/venv \
    && chmod 0755 /app/deploy/container/entrypoint

FROM python AS runtime
# A fixed, non-root id (10001): volumes and Kubernetes' runAsNonRoot can name it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# DJANGO_ENV_FILE=/dev/null: the container's environment is its configuration (-e, --env-file,
# compose's environment:), never a .env file. The code stays root-owned: the app cannot
# rewrite it. PROMETHEUS_MULTIPROC_DIR is created by the entry point before gunicorn starts.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_ENV_FILE=/dev/null \
    HOST=0.0.0.0 \
    PORT=8000 \
    GUNICORN_WORKER_CLASS=gthread \
    GUNICORN_THREADS=4 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/todo-api-metrics
USER 10001:10001
EXPOSE 8000
# Kept by podman only with `podman build --format docker` (make image does so).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/deploy/container/entrypoint", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/deploy/container/entrypoint"]
CMD ["serve"]
