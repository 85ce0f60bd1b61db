# The two commands of the README's quick start, and the tools around them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/sportello
# Where `make run` serves (make run PORT=8080).
HOST ?= 127.0.0.1
PORT ?= 8000
PUBLIC_URL ?= http://$(HOST):$(PORT)
export TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install system-packages run test lint typecheck format bench-ingest bench-workspace screenshots

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Run the help desk in embedded mode (SQLite, in-process layer and tasks, demo data) on :8000.
run: install
	$(BIN)/python manage.py migrate --noinput
	PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py seed_demo
	PUBLIC_URL=$(PUBLIC_URL) $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

## The system packages the suite drives (Chromium, Dovecot, pgbench): installed, or the command that does.
system-packages:
	@if [ "$(SYSTEM_PACKAGES)" != skip ]; then bash tests/system-packages.sh; fi

## Run the whole test suite against the real PostgreSQL and Redis on 127.0.0.1.
test: install system-packages
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

## ruff (style, timezone-aware datetimes, the import arrows of docs/architecture.md), formatting, mypy.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Type-check helpdesk/, tickets/ and channels_in/ with mypy and django-stubs (pyproject.toml).
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-ingest: install
	$(BIN)/python bench/ingest.py

## Inbox, ticket and search timings on 100,000 tickets and 1,000,000 messages (docs/performance.md).
## HELPDESK_PYTHON=/tmp/dh-venv/bin/python adds django-helpdesk's ticket list on the same data size.
bench-workspace: install
	$(BIN)/python bench/workspace.py $(if $(HELPDESK_PYTHON),--helpdesk-python $(HELPDESK_PYTHON)) $(BENCH_ARGS)

## Save the agent workspace's main screens (real server, headless Chromium) to docs/screenshots/.
screenshots: install
	DATABASE_URL=$(TEST_DATABASE_URL) SCREENSHOT_DIR=$(CURDIR)/docs/screenshots \
		$(BIN)/python -m pytest tests/browser/test_screenshots.py -q $(PYTEST_ARGS)
