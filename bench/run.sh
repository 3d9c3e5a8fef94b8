#!/usr/bin/env bash
# `make bench`: token verification figures, then HTTP figures from gunicorn on loopback.
# Uses a throwaway SQLite database unless BENCH_DATABASE_URL names another (e.g. PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
tmp=$(mktemp -d)
port=${BENCH_PORT:-8765}

export DJANGO_ENV_FILE=/dev/null DJANGO_DEBUG=0 DJANGO_LOG_LEVEL=WARNING
export DJANGO_SECRET_KEY="bench-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=0
export BETTER_AUTH_SECRET="bench-secret-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export DATABASE_URL="${BENCH_DATABASE_URL:-sqlite:///$tmp/bench.sqlite3}"

echo "== token verification (in process, one thread) =="
PYTHONPATH=. $BIN/python bench/verify.py

echo
echo "== HTTP through gunicorn (2 workers x 4 threads) on 127.0.0.1:$port, database: ${DATABASE_URL%%:*} =="
$BIN/python manage.py migrate --no-input -v 0
$BIN/python manage.py collectstatic --no-input -v 0
$BIN/gunicorn todo_project.wsgi --bind "127.0.0.1:$port" --workers 2 --threads 4 \
  --access-logfile /dev/null --error-logfile "$tmp/gunicorn.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
$BIN/python - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/health", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
PY
$BIN/python bench/http_load.py --port "$port" --secret "$BETTER_AUTH_SECRET" \
  --requests "${BENCH_REQUESTS:-2000}" --clients "${BENCH_CLIENTS:-8}"

echo
echo "== one task write: UPDATE ... RETURNING vs lock + update + read, database: ${DATABASE_URL%%:*} =="
PYTHONPATH=. $BIN/python bench/writes.py
