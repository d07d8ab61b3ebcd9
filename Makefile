# Two commands on a fresh machine: `make demo` and `make test` (see README).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean system-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: net-snmp tools (bench reference), chromium (browser tests),
# victoria-metrics (a real server speaking the InfluxDB v2 write API for the InfluxDB backend tests),
# postgresql (a throwaway server for the shared incident store and the two-collector tests).
system-deps:
	@missing=""; \
	command -v snmpbulkwalk >/dev/null || missing="$$missing snmp"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v victoria-metrics >/dev/null || missing="$$missing victoria-metrics"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP)
	$(BIN)/python -m collector.demo

test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP) system-deps
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/forecast/run.py

clean:
	rm -rf $(VENV) .fleetwatch .pytest_cache .ruff_cache
