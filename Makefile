# Two commands on a fresh machine: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run serve bench test lint install install-dev install-bench db demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.bench: requirements-bench.txt $(VENV)/.dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
install-bench: $(VENV)/.bench

db: install
	$(BIN)/flask db upgrade

demo: db
	$(BIN)/flask seed-demo

# The job worker (mail, expiring lapsed holds, refund retries) runs beside the dev server and
# stops with it.
run: demo
	@echo "Serving http://127.0.0.1:$(PORT) (payments: $${PAYMENTS:-sandbox}), with the job worker"
	PORT=$(PORT) $(BIN)/flask worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	PORT=$(PORT) $(BIN)/flask run --host 127.0.0.1 --port $(PORT) --with-threads

# The production server as README recommends it: gunicorn with gthread workers, one process per
# core (GUNICORN_WORKERS) with GUNICORN_THREADS threads each and a database pool of the same size
# (gunicorn.conf.py and checkout/config.py read them). Workers share metrics through one folder.
BIND ?= 127.0.0.1:$(PORT)
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/instance/prometheus
serve: export PROMETHEUS_MULTIPROC_DIR := $(PROMETHEUS_MULTIPROC_DIR)
serve: install
	mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	$(BIN)/flask db upgrade
	exec $(BIN)/gunicorn --bind $(BIND) wsgi:app

# Minutes of load on every core, so not part of `make test` (which runs its smoke test).
# BENCH_QUICK=1 for a short run; the other BENCH_* settings are in README "Performance".
bench: install-bench
	$(BIN)/python -m bench

test: install-bench
	scripts/test

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .venv-serve .pytest_cache .ruff_cache
