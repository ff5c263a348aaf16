# The two README commands: `make run` and `make test`. Everything they need is installed from here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# `make test` and `make bench` run on PostgreSQL and Redis (localhost defaults); `make run` on whatever is set.
# A SECRET_KEY for what serves pages with DEBUG off outside pytest (the benches).
TEST_ENV := SECRET_KEY=$${SECRET_KEY:-test-only-insecure-key} \
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/voucher_admin} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	CACHE_URL=$${CACHE_URL:-rediscache://127.0.0.1:6379/1}

.PHONY: run test bench setup services system-packages lint check-deploy

# DEBUG is off unless set: the demo (and the web, worker and beat honcho starts) runs with it on.
run: export DEBUG ?= 1
run: setup
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py load_demo_data
	$(BIN)/honcho -f Procfile start

# pytest loads the development settings, as `make run` does (pytest-django turns DEBUG off inside each test).
test: setup system-packages services
	$(TEST_ENV) $(BIN)/ruff check .
	$(BIN)/lint-imports
	$(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(TEST_ENV) DEBUG=$${DEBUG:-1} $(BIN)/pytest

bench: setup system-packages services
	$(TEST_ENV) $(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check . && $(BIN)/lint-imports && $(BIN)/ruff format --check .

check-deploy: setup
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64) ALLOWED_HOSTS=vouchers.example.com \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

setup: $(VENV)/.installed node_modules/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Exact versions from the lock, so a fresh clone gets what was tested.
$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	@touch $@

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Debian packages the tests and benchmarks use: chromium for browser tests, wrk and pgbench for load.
system-packages:
	@scripts/ensure-system-packages.sh

# PostgreSQL and Redis: started when installed but stopped.
services:
	@scripts/ensure-services.sh
