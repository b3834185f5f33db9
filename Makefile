# ecopark: the commands a developer runs every day. `make run` and `make test` set everything up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint format messages compile migrate demo bench clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# Browser packages (htmx) from the npm registry, served by the app itself (see package.json).
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel error
	touch $(NODE_STAMP)

compile: $(STAMP) $(NODE_STAMP)
	$(BIN)/python manage.py compilemessages --ignore '.venv' --ignore 'node_modules' -v 0

migrate: $(STAMP) $(NODE_STAMP)
	$(BIN)/python manage.py migrate --no-input -v 0

demo: migrate
	$(BIN)/python manage.py load_demo --if-empty --users

run: compile demo
	@echo "Serving ecopark on http://127.0.0.1:$(PORT)/ (Ctrl+C stops it)"
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: compile
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks on PostgreSQL at scale (default 1,000,000 measures; BENCH_ARGS="--measures 100000" for a quick run).
# BENCH_DATABASE_URL names a database to fill (it is emptied); without it a throwaway cluster is started. With
# BENCH_ARGS="--reuse", a database filled by an earlier run is kept (e.g. "--reuse --only-pages"). Needs wrk.
# Migrations build indexes over the generated rows: they run without the web statement timeout.
bench: $(STAMP)
ifdef BENCH_DATABASE_URL
	DATABASE_URL=$(BENCH_DATABASE_URL) DB_STATEMENT_TIMEOUT_MS=0 $(BIN)/python manage.py migrate --no-input -v 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m bench.run $(BENCH_ARGS)
else
	bench/with-postgres.sh sh -c 'DB_STATEMENT_TIMEOUT_MS=0 $(BIN)/python manage.py migrate --no-input -v 0 && $(BIN)/python -m bench.run $(BENCH_ARGS)'
endif

# Extract translatable strings into locale/*/LC_MESSAGES/django.po (needs GNU gettext).
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l vi -l en --ignore '.venv/*' --ignore 'node_modules/*' --no-obsolete

clean:
	rm -rf $(VENV) node_modules var/static .pytest_cache .ruff_cache
