# The two commands a newcomer needs: `make run` and `make test`. Everything else is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
PORT ?= 8000
export VAR_DIR ?= $(CURDIR)/var

.PHONY: venv run test test-clocks prod-check run-check lint typecheck bench migrate clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Everything on embedded defaults: SQLite, the Celery filesystem broker and .eml files under var/.
run: venv
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	@echo ""
	@echo "  Pain Reset is starting: open http://127.0.0.1:$(PORT)/   (outbox: http://127.0.0.1:$(PORT)/dev/outbox/)"
	@echo "  Ctrl-C stops the web server, the worker and beat together."
	@echo ""
	DEBUG=$${DEBUG:-true} SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.dev

# pytest exits 5 when it collected no tests; make treats any non-zero exit as failure, so that cannot pass.
test: venv
	$(BIN)/pytest $(PYTEST_ARGS)

# The time-sensitive folders again, once per shifted clock (07:59 and 08:01 in New York, a DST change, midnight UTC),
# each with its own database and Redis: tests/clock_runs.py, tests/clock.py.
test-clocks: venv
	$(BIN)/python -m tests.clock_runs $(PYTEST_ARGS)

# The production path on this machine: bin/ entrypoints, DEBUG off, gunicorn + worker + beat on PostgreSQL and
# Redis, real anymail and stripe clients against local fakes; walks the journey and prints each step.
prod-check: venv
	$(BIN)/python -m tests.production.walk

# The embedded default as a newcomer meets it: `make run` with nothing set, the journey walked over HTTP, each step
# printed (tests/embedded/walk.py).
run-check: venv
	$(BIN)/python -m tests.embedded.walk

lint: venv
	$(BIN)/ruff check .

typecheck: venv
	DEBUG=true $(BIN)/mypy .

bench: venv
	$(BIN)/python -m bench.run_all

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
