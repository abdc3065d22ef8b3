# The CRM's everyday commands. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DEMO_CUSTOMERS ?= 120

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z][a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed node_modules/.package-lock.json ## Create the virtualenv and install Python and npm packages

run: install ## Run the app with demo data on SQLite, with a Celery worker and beat (http://127.0.0.1:$(PORT))
	DJANGO_DEBUG=1 PORT=$(PORT) DEMO_CUSTOMERS=$(DEMO_CUSTOMERS) PY=$(PY) bash scripts/run.sh

test: install ## Run the whole test suite in 2 processes (SQLite unless DATABASE_URL is set; browser tests in headless chromium)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: install ## ruff, the template-free checks, and missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 $(PY) manage.py check

messages: install ## Extract and compile translations (needs gettext)
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules
	DJANGO_DEBUG=1 $(PY) manage.py makemessages -d djangojs -l zh_Hans -l en --ignore=.venv --ignore=node_modules --ignore=staticfiles
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_bench
SCALE ?= 100000
bench: install ## Benchmark pages under gunicorn on PostgreSQL (SCALE=100000; BENCH_DATABASE_URL to override)
	createdb -h 127.0.0.1 -U postgres crm_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.run --scale $(SCALE)

clean: ## Remove the local database, Celery queue files and collected static files
	rm -rf var staticfiles


# --- backups and stress (issue 11) ----------------------------------------------------------------
# Backups are PostgreSQL custom-format dumps (pg_dump -Fc): compressed, restorable table by table.
#   make backup  DATABASE_URL=postgres://user@host:5432/crm                 → backups/crm-<time>.dump
#   make restore DATABASE_URL=postgres://user@host:5432/crm BACKUP_FILE=backups/crm-<time>.dump
# restore replaces every object of the dump in the target database in one transaction; stop the
# web, worker and beat first. tests/reliability/test_backup.py proves the round trip.
BACKUP_STAMP := $(shell date +%Y%m%d-%H%M%S)
BACKUP_FILE ?= backups/crm-$(BACKUP_STAMP).dump

backup: ## Dump the PostgreSQL database at DATABASE_URL to BACKUP_FILE (default backups/crm-<time>.dump)
	@test -n "$(DATABASE_URL)" || { echo "set DATABASE_URL=postgres://user@host:port/name"; exit 2; }
	@mkdir -p "$(dir $(BACKUP_FILE))"
	pg_dump --format=custom --no-owner --no-privileges --file="$(BACKUP_FILE)" --dbname="$(DATABASE_URL)"
	@echo "backup written to $(BACKUP_FILE)"

restore: ## Restore BACKUP_FILE into the PostgreSQL database at DATABASE_URL (replaces its objects)
	@test -n "$(DATABASE_URL)" || { echo "set DATABASE_URL=postgres://user@host:port/name"; exit 2; }
	@test -f "$(BACKUP_FILE)" || { echo "set BACKUP_FILE to an existing dump (make backup writes one)"; exit 2; }
	pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
		--dbname="$(DATABASE_URL)" "$(BACKUP_FILE)"
	@echo "restored $(BACKUP_FILE)"

STRESS_MINUTES ?= 10
STRESS_USERS ?= 50
STRESS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm_stress
STRESS_REDIS_URL ?= redis://127.0.0.1:6379/5
stress: install ## Fault and load runs: PostgreSQL/Redis outages, then Locust (STRESS_USERS users, STRESS_MINUTES min) → bench/results/
	CRM_STRESS=1 $(PY) -m pytest -p no:cacheprovider tests/reliability -m stress $(PYTEST_ARGS)
	$(PY) scripts/stress.py --users $(STRESS_USERS) --minutes $(STRESS_MINUTES) --database-url $(STRESS_DATABASE_URL) --redis-url $(STRESS_REDIS_URL)

LOAD_MINUTES ?= 5
load: install ## Throughput run: STRESS_USERS users back to back (no think time) for LOAD_MINUTES min; asks ≥150 req/s, p95 ≤300 ms
	$(PY) scripts/stress.py --label load --think 0 --users $(STRESS_USERS) --minutes $(LOAD_MINUTES) \
		--p95-ms 300 --min-rps 150 --database-url $(STRESS_DATABASE_URL) --redis-url $(STRESS_REDIS_URL)

.PHONY: help install run test lint messages bench clean backup restore stress

sqlmap: install ## sqlmap against the search, filter and sort parameters of a live test server (~1.5 min; needs apt sqlmap)
	CRM_SQLMAP=1 $(PY) -m pytest -p no:cacheprovider tests/security/test_sqlmap.py $(PYTEST_ARGS)

.PHONY: sqlmap load
