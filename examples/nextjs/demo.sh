#!/usr/bin/env bash
# `make demo`: the API (runserver) and this example (next dev) together, wired to each other.
# Ports: API_PORT (default 8000) and APP_PORT (default 3000). Ctrl-C stops both.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
API_PORT="${API_PORT:-8000}"
APP_PORT="${APP_PORT:-3000}"
APP_URL="http://127.0.0.1:$APP_PORT"
API_URL="http://127.0.0.1:$API_PORT"

fail() { echo "demo: $*" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm (Node 20+) are needed"
for port in "$API_PORT" "$APP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is busy: choose others, e.g. make demo API_PORT=8010 APP_PORT=3010"
  fi
done

cd "$HERE"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "demo: installing the example's packages (npm ci; compiling better-sqlite3 takes a few minutes)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f .env.local ]; then
  # Better Auth signs sessions and keys with it; kept so that sessions survive a restart.
  echo "BETTER_AUTH_SECRET=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')" > .env.local
  echo "demo: wrote examples/nextjs/.env.local with a random BETTER_AUTH_SECRET"
fi

cd "$ROOT"
"$PYTHON" manage.py migrate --no-input -v 0

set -m  # each server in its own process group, so that stopping it stops its children too
pids=()
stop() { for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap stop EXIT
trap 'exit 130' INT TERM

# The API trusts this app's Better Auth (JWKS, iss, aud) and lets its origin call it.
BETTER_AUTH_URL="$APP_URL" CORS_ALLOWED_ORIGINS="$APP_URL" \
  "$PYTHON" manage.py runserver "127.0.0.1:$API_PORT" --noreload &
pids+=($!)
(cd "$HERE" && BETTER_AUTH_URL="$APP_URL" TODO_API_URL="$API_URL" NEXT_TELEMETRY_DISABLED=1 \
  exec npm run dev --silent -- -H 127.0.0.1 -p "$APP_PORT") &
pids+=($!)

answers() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"; }
for _ in $(seq 1 120); do
  if answers "$API_URL/api/health" && answers "$APP_URL/sign-in"; then
    printf '\n  Todo demo ready: open %s  (API on %s, Ctrl-C stops both)\n\n' "$APP_URL" "$API_URL"
    wait
    exit 0
  fi
  sleep 1
done
fail "the servers did not come up within 2 minutes (see the output above)"
