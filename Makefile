# Unify: two commands on a fresh machine with Python 3.11+.
#   make run   - the app on its embedded default (SQLite, file broker, sandbox ShipStation)
#   make test  - the whole suite against PostgreSQL and Redis
#   make audit - known vulnerabilities in the installed packages (needs the network)
#   make support-user EMAIL=you@example.com - a staff account for /admin/ (asks for a password)
#   make messages - the German catalog updated from the sources, compiled, untranslated listed
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint format bench sandbox audit support-user messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/python manage.py run_embedded

test: $(STAMP_DEV)
	$(BIN)/python scripts/check_services.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP_DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

support-user: $(STAMP_RUN)
	$(BIN)/python manage.py create_support_user $(if $(EMAIL),--email "$(EMAIL)")

sandbox: $(STAMP_RUN)
	$(BIN)/python -m sandbox

# Known vulnerabilities in the installed packages (pip-audit); skipped, and says so, when the
# vulnerability database cannot be reached. Not part of `make test` or CI.
audit: $(STAMP_DEV)
	$(BIN)/python scripts/audit.py

bench: $(STAMP_DEV)
	for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

# Needs GNU gettext (makemessages); compiles with Babel; exit 1 while anything is untranslated.
messages: $(STAMP_DEV)
	$(BIN)/python scripts/messages.py

clean:
	rm -rf .data .pytest_cache .ruff_cache
