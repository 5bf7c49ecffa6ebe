# Keel's commands. `make run` and `make test` install whatever is missing first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
NPM_STAMP := node_modules/.installed-$(shell cat package-lock.json 2>/dev/null | cksum | cut -d' ' -f1)
RUN_DIR := .run
# Every process of `make run` (web, worker, beat) reads the same embedded defaults.
RUN_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}
# `make bench` measures production settings (DEBUG off) on loopback: a throwaway secret
# key unless one is set, plain HTTP, static files without the collectstatic manifest.
BENCH_ENV := DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-keel-bench-only-not-a-secret} \
	DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-false} \
	DJANGO_STATIC_MANIFEST=$${DJANGO_STATIC_MANIFEST:-false}

.PHONY: install run test lint format check-deploy clean help bench bench-import

help:
	@echo "make run    - install, migrate, load demo data, start web + worker + beat on :8000 (+ mail gateway on :2525)"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff and bandit"
	@echo "make bench  - generate the large data set (once) and benchmark it (PostgreSQL + Redis)"

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

run: install
	mkdir -p $(RUN_DIR)/broker/queue $(RUN_DIR)/broker/processed $(RUN_DIR)/mail
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	@echo "Keel is starting on http://127.0.0.1:8000 (Ctrl-C stops web, worker, beat and the mail gateway on 127.0.0.1:2525)"
	@trap 'kill 0' INT TERM EXIT; \
	$(RUN_ENV) $(VENV)/bin/celery -A crm worker --loglevel=INFO --concurrency=2 & \
	$(RUN_ENV) $(VENV)/bin/celery -A crm beat --loglevel=INFO --schedule=$(RUN_DIR)/celerybeat-schedule & \
	$(RUN_ENV) $(PY) manage.py mail_gateway & \
	$(RUN_ENV) $(PY) manage.py runserver 127.0.0.1:8000

# Debian's chromium (browser journeys) and Dovecot (the mail tests' IMAP server), as root.
test: install
	@{ command -v chromium && command -v dovecot; } >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium dovecot-imapd >/dev/null)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -q -c pyproject.toml -r crm contacts pipeline mail governance reporting api intelligence demo

# The benchmark of issue 10: seed_scale (skipped when its data exists), then the bench,
# which writes bench/results.json and bench/results.md. Not part of `make test` (too long);
# tests/benchmarks/test_bench_smoke.py runs it in miniature. Sizes: SEED_ARGS="--orgs …".
bench: install
	@test -n "$$DATABASE_URL" || { echo "make bench needs DATABASE_URL (PostgreSQL, the keel role: see README)" >&2; exit 2; }
	@test -n "$$DATABASE_SCANNER_URL" || { echo "make bench needs DATABASE_SCANNER_URL (the BYPASSRLS keel_scanner role: see README)" >&2; exit 2; }
	@test -n "$$CELERY_BROKER_URL" || { echo "make bench needs CELERY_BROKER_URL (Redis, e.g. redis://127.0.0.1:6379/9)" >&2; exit 2; }
	$(BENCH_ENV) $(PY) manage.py migrate --noinput
	$(BENCH_ENV) $(PY) manage.py seed_scale --if-missing $(SEED_ARGS)
	$(BENCH_ENV) $(PY) manage.py bench $(BENCH_ARGS)
	@echo "Report: bench/results.md (figures) and bench/results.json (everything measured)"

# The 100,000-row CSV import on its own (a pytest test, deselected from `make test`):
# prints the time and the rows per second, fails past 120 s. PostgreSQL: set DATABASE_URL.
bench-import: install
	$(PY) -m pytest tests/governance/test_import_scale.py -m bench -s -p no:cacheprovider $(PYTEST_ARGS)

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# With the database goes its write-ahead log: a stale db.sqlite3-wal would be replayed into
# the next, new database.
clean:
	rm -rf $(VENV) node_modules $(RUN_DIR) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
