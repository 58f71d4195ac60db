# One command per job; CI (.ci/run) calls the same ones.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
TESS_LANGS := eng deu nld fra
export OMP_THREAD_LIMIT := 1

.PHONY: install system-deps demo test faults lint bench eval clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3

# llama-cpp-python builds from source (~7 min on 2 cores, then pip's wheel cache serves it);
# GGML_NATIVE=OFF makes a wheel that runs on any x86-64 CPU, not only the build machine's.
# The stamp skips pip (a minute of resolving) until pyproject.toml changes.
INSTALLED := $(VENV)/.installed
install: $(INSTALLED) system-deps

$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "installing into $(VENV); the first time on a machine this builds llama-cpp-python from source (~7 min on 2 cores, then pip's cache serves it)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet -e '.[dev,local-model]'
	touch $@

# Debian packages: installed when missing and we are root, otherwise named exactly.
# prometheus brings promtool, which checks and unit-tests deploy/prometheus/alerts.yml.
# Chromium is the browser of the web tests (Playwright drives /usr/bin/chromium; never
# `playwright install`, which downloads a browser build of its own).
system-deps:
	@missing=""; \
	command -v tesseract >/dev/null || missing="tesseract-ocr"; \
	for l in $(TESS_LANGS); do \
	  dpkg -s tesseract-ocr-$$l >/dev/null 2>&1 || missing="$$missing tesseract-ocr-$$l"; \
	done; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/chromedriver ] || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null \
	      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null; }; \
	  else \
	    echo "missing Debian packages; run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

# The demo fetches the model itself, in the background while the knowledge base loads.
demo: install
	$(BIN)/python -m app.demo

test: install
	$(BIN)/pytest

# Real processes and one fault each (about 2 minutes): see tests/faults.
faults: install
	$(BIN)/pytest -m faults tests/faults -p no:cacheprovider -s

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The everyday yardstick: the fixed stratified sample (3 per type and layout, scans included)
# of the golden set's TEST part, extracted with the configured model and scored. Resumable:
# predictions are cached in var/eval per file, model and extractor version.
# A request of the 1.5B model on 2 cores can decode for minutes (a long packing list); the
# service's 120 s limit would end it and, after five, open the breaker for the whole run.
EVAL_ARGS ?= --split test --sample 36 --seed 0
EVAL_TIMEOUT_S ?= 900
# The agent's lookup_tariff and tariff suggestions read the knowledge base: without it every
# lookup fails and the run measures a crippled agent (ingest from the snapshot: ~10 s).
eval: install
	$(BIN)/shipdoc model fetch
	$(BIN)/shipdoc kb ingest
	SHIPDOC_MODEL__TIMEOUT_S=$(EVAL_TIMEOUT_S) nice -n 10 $(BIN)/shipdoc eval run --golden evals/golden $(EVAL_ARGS) --report var/eval-report.json

bench: install
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/service.py

clean:
	rm -rf var/demo .pytest_cache .mypy_cache .ruff_cache
