#!/usr/bin/env bash
# Upstream canary: the real-Better-Auth e2e tests against the newest better-auth release instead
# of the pinned one (tests/e2e/better_auth/package-lock.json). Runs in a throwaway copy of the
# Node project, so nothing in the repository changes. Usage: PYTHON=.venv/bin/python bash
# scripts/e2e_latest.sh [pytest args]. Prints "canary: better-auth X.Y.Z" before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp tests/e2e/better_auth/package.json tests/e2e/better_auth/package-lock.json \
  tests/e2e/better_auth/server.mjs "$work/"
(cd "$work" && npm install --no-audit --no-fund --loglevel=error better-auth@latest)
version="$(node -p "require('$work/node_modules/better-auth/package.json').version")"
pinned="$(node -p "require('./tests/e2e/better_auth/package.json').dependencies['better-auth']")"
echo "canary: better-auth $version (pinned: $pinned)"
E2E_BETTER_AUTH_PROJECT="$work" "$PYTHON" -m pytest -m e2e -p no:cacheprovider "$@" tests/e2e
