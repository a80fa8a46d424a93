# Two commands: `make run` and `make test`. Everything installs into .venv from the repo's files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# wsgi, asgi and celery default to production settings (fail closed), and so does manage.py outside
# a checkout where `make run` ran (see manage.py); the dev targets say so.
DEV := DJANGO_SETTINGS_MODULE=pizzeria.settings.dev

.PHONY: install run ps demo flower test test-fast bench check clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is required"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Chart.js for the dashboard, from npm with its lock file; served from our static files.
ASSETS := analytics/assets
ASSETS_STAMP := $(ASSETS)/node_modules/.installed
$(ASSETS_STAMP): $(ASSETS)/package.json $(ASSETS)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the dashboard's Chart.js (apt-get install npm)"; exit 1; }
	cd $(ASSETS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) $(ASSETS_STAMP)

## Start web + every worker pool + beat (embedded PostgreSQL / Valkey when DATABASE_URL / REDIS_URL are unset).
run: install
	@mkdir -p .run
	$(DEV) $(PY) -m pizzeria.devservices run

## Status of the processes `make run` supervises (run from another terminal).
ps: install
	$(VENV)/bin/supervisorctl -c .run/supervisord.conf status

## Bring the running stack to life (start `make run` in another shell first): customers order over
## the API, simulated staff cook and deliver, a share of SMS/e-mail provider calls fail on purpose.
DEMO_ORDERS ?= 200
DEMO_RATE ?= 5
DEMO_FAILURE_RATE ?= 0.2
DEMO_MINUTE ?= 0.25
# More options of `manage.py simulate`, e.g. DEMO_ARGS="--late-rate 0.05 --stub-log demo-stub.jsonl".
DEMO_ARGS ?=
demo: install
	$(DEV) $(PY) manage.py simulate --orders $(DEMO_ORDERS) --rate $(DEMO_RATE) --failure-rate $(DEMO_FAILURE_RATE) \
	  --minute $(DEMO_MINUTE) --base-url http://127.0.0.1:$${PORT:-8000} $(DEMO_ARGS)

## Flower (pinned in requirements.txt) on http://127.0.0.1:5555/ against the broker of `make run`
## (or CELERY_BROKER_URL / REDIS_URL). Local only; FLOWER_BASIC_AUTH=user:pass to share it.
flower: install
	@url="$${CELERY_BROKER_URL:-$${REDIS_URL:-$$(cat .run/broker-url 2>/dev/null)}}"; \
	test -n "$$url" || { echo "make flower: start 'make run' first, or set CELERY_BROKER_URL or REDIS_URL"; exit 1; }; \
	CELERY_BROKER_URL="$$url" $(DEV) $(VENV)/bin/celery -A pizzeria flower --address=127.0.0.1 --port=$${FLOWER_PORT:-5555}

## The whole suite (real worker, real broker, real database).
test: install
	$(PY) -m pizzeria.devservices exec --throwaway -- $(PY) -m pytest --ds=pizzeria.settings.test

## Unit tests only (no worker subprocess, no browser, no Prism).
test-fast: install
	$(PY) -m pizzeria.devservices exec --throwaway -- $(PY) -m pytest --ds=pizzeria.settings.test -m "not worker and not browser and not contract"

## Event-bus benchmark (bench/README.md): JSON, SVG chart and table; the baselines measured in the same run.
## BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--brokers redis,rabbitmq".
bench: install
	$(PY) -m pizzeria.devservices exec -- $(PY) -m bench $(BENCH_ARGS)

## Lint, types, import contracts (tools configured in pyproject.toml), then Django's system checks and
## missing migrations on services of their own (throwaway), so it needs no running stack. The format
## check runs last, so the others report even while it fails.
check: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pizzeria.devservices exec --throwaway -- sh -c '$(DEV) $(PY) manage.py check && \
	  $(DEV) $(PY) manage.py makemigrations --check --dry-run'
	$(VENV)/bin/ruff format --check .


# Keeps .run/postgres, the embedded database's data (your orders); delete it by hand to start afresh.
clean:
	rm -rf $(VENV) staticfiles
	find .run -mindepth 1 -maxdepth 1 ! -name postgres -exec rm -rf {} + 2>/dev/null || true
