# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MAIN_STAMP := $(VENV)/.installed-main
PORT ?= 8000
E2E_DIR := tests/e2e/better_auth

.PHONY: help setup setup-main run test test-e2e test-e2e-latest test-browser test-package dist demo openapi lint format bench bench-writes bench-creates lock lock-upgrade check-locks superuser token clean stack test-stack image test-image

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

# The virtualenv is (re)installed only when a lock file changed: the main lock alone to serve
# (make run), the development lock (a superset) to test, lint and build.
$(STAMP): requirements/dev.txt requirements/main.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/python -m pip check
	@touch $(STAMP) $(MAIN_STAMP)

$(MAIN_STAMP): requirements/main.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/main.txt
	$(BIN)/python -m pip check
	@touch $(MAIN_STAMP)

.env:
	@$(PYTHON) scripts/write_dev_env.py .env

setup: $(STAMP) .env ## create or refresh .venv from the development lock and write a dev .env if none exists

setup-main: $(MAIN_STAMP) .env ## the same with the main lock only: what serving needs

run: setup-main ## migrate and serve on 127.0.0.1:$(PORT) (SQLite unless DATABASE_URL says otherwise)
	$(BIN)/python manage.py migrate --no-input
	@$(BIN)/python manage.py collectstatic --no-input -v 0
	@$(BIN)/python manage.py mint_token dev-user --email dev@example.com --name Dev --minutes 120 --curl --port $(PORT)
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: setup ## run the whole suite (the e2e tests too when node and npm are installed)
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  echo "make test: node/npm not found, so the Better Auth end-to-end tests will be SKIPPED"
	@command -v node >/dev/null && command -v chromium >/dev/null || \
	  echo "make test: node/chromium not found, so the browser test (tests/browser) will be SKIPPED"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-e2e: setup ## only the end-to-end tests against a real Better Auth (needs node and npm)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

openapi: setup ## re-export docs/openapi.json (the frontend's typed client is generated from it)
	DJANGO_DEBUG=1 $(BIN)/python manage.py export_openapi_schema --api todo_project.api.api --indent 2 --output docs/openapi.json && echo >> docs/openapi.json

test-e2e-latest: setup ## upstream canary: the e2e tests against the newest better-auth release (not the pinned one)
	PYTHON=$(BIN)/python bash scripts/e2e_latest.sh $(PYTEST_ARGS)

test-package: setup ## authbridge as a user gets it: its wheel in fresh virtualenvs, sample sites, real Better Auth
	$(BIN)/python -m pytest -m package $(PYTEST_ARGS)

dist: setup ## build authbridge (authbridge/pyproject.toml) into dist/: wheel + sdist, then twine check
	rm -f dist/django_better_auth_bridge-*
	$(BIN)/python -m build --no-isolation --outdir dist authbridge
	$(BIN)/twine check --strict dist/django_better_auth_bridge-*

test-browser: setup ## only the browser test: examples/nextjs in headless chromium against gunicorn
	$(BIN)/python -m pytest -m browser $(PYTEST_ARGS)

demo: setup ## run the API and the Next.js example together (needs node and npm); prints the URL
	PYTHON=$(BIN)/python bash examples/nextjs/demo.sh

lint: setup check-locks ## ruff (lint + format check), mypy (code and tests), no missing or backward-incompatible migration
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(BIN)/mypy .
	DJANGO_DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 DATABASE_URL= $(BIN)/python manage.py lintmigrations --warnings-as-errors --quiet ok

format: setup ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# uv only compiles the locks: it lives in a virtualenv of its own (.venv-tools, from the
# hash-pinned requirements/tools.txt), not in what serving or testing installs.
TOOLS_VENV := $(VENV)-tools
UV := $(TOOLS_VENV)/bin/uv
$(TOOLS_VENV)/.installed: requirements/tools.txt
	@test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/tools.txt
	@touch $@

UV_COMPILE = $(UV) pip compile pyproject.toml --generate-hashes --python-version 3.11 --python-platform linux --quiet $(LOCK_FLAGS)

# The package test matrix (tests/package): requirements/package/<row>.in -> <row>.txt, for the
# Python version the row's name starts with (py311-... -> 3.11, py313-... -> 3.13).
PACKAGE_ROWS = $(sort $(basename $(notdir $(wildcard requirements/package/*.in))))
row_python = $(patsubst py3%,3.%,$(firstword $(subst -, ,$(1))))
UV_COMPILE_ROW = $(UV) pip compile --generate-hashes --python-platform linux --quiet $(LOCK_FLAGS)

lock: $(TOOLS_VENV)/.installed ## recompile the hash-pinned requirement files (pyproject.toml, requirements/*.in, requirements/package/*.in; keeps pins)
	$(UV_COMPILE_ROW) --python-version 3.11 requirements/tools.in -o requirements/tools.txt
	$(UV_COMPILE) -o requirements/main.txt
	$(UV_COMPILE) --extra dev -o requirements/dev.txt
	$(foreach row,$(PACKAGE_ROWS),$(UV_COMPILE_ROW) --python-version $(call row_python,$(row)) requirements/package/$(row).in -o requirements/package/$(row).txt && ) true
	@$(MAKE) --no-print-directory check-locks

lock-upgrade: ## upgrade every pin to the newest release pyproject.toml allows, on purpose
	$(MAKE) --no-print-directory lock LOCK_FLAGS=--upgrade

LOCK_FILES ?= requirements/*.txt requirements/package/*.txt
check-locks: ## fail when a lock file names a package index (URL, index or find-links option)
	@! grep -nE '://|index-url|find-links' $(LOCK_FILES) || \
	  { echo "requirements/**/*.txt must not name a package index" >&2; exit 1; }

bench: setup ## HTTP figures: PostgreSQL, Redis, gunicorn, wrk (about 12 min; BENCH_ARGS=--quick: 1.5 min)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-writes: setup ## one task write: UPDATE ... RETURNING vs lock + update + read (DATABASE_URL's database)
	PYTHONPATH=. $(BIN)/python bench/writes.py

bench-creates: setup ## one task create: count + insert vs the per-user lock (DATABASE_URL's database, migrated)
	PYTHONPATH=. $(BIN)/python bench/creates.py

stack: setup ## nginx -> 2 gunicorn -> PostgreSQL + Redis on loopback (needs nginx, redis-server, postgresql); Ctrl-C stops
	$(BIN)/python -m scripts.stack

test-stack: setup ## only the stack fault test (kills and restarts parts of its own stack)
	$(BIN)/python -m pytest -m stack $(PYTEST_ARGS)

# --- container image (issue 18): podman, a Debian base built here with mmdebstrap -------------
image: ## build the container image localhost/todo-api:latest (podman, as root; 3 min, 15 s cached; IMAGE_ARGS=--refresh)
	$(PYTHON) -m scripts.podman image $(IMAGE_ARGS)

test-image: setup ## only the image tests: build it, release against PostgreSQL, serve, probe (needs root)
	$(BIN)/python -m pytest -m image $(PYTEST_ARGS)
# --- end container image ---------------------------------------------------------------------

superuser: setup-main ## create an admin user for /admin/
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createsuperuser

clean: ## remove the virtualenv and caches (keeps .env and db.sqlite3)
	rm -rf $(VENV) $(TOOLS_VENV) .pytest_cache .mypy_cache .ruff_cache $(E2E_DIR)/node_modules \
	  tests/browser/node_modules examples/nextjs/node_modules examples/nextjs/.next
