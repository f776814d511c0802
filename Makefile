# The book's verbs. Each one bootstraps what it needs: the Debian packages
# (graphviz's `dot`, chromium for the browser tests) and a virtualenv in .venv.
SHELL := /bin/bash
export NO_MKDOCS_2_WARNING := 1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
ADDR ?= 127.0.0.1:8000
DEBS := graphviz:dot chromium:chromium

.PHONY: setup debs serve build test tangle check clean

setup: debs $(READY)

# Install each Debian package whose command is missing (apt-get as root, else sudo).
debs:
	@missing=""; for pair in $(DEBS); do \
	  command -v $${pair#*:} >/dev/null || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	  || { echo "could not install$$missing; install them with apt-get and retry" >&2; exit 1; }; \
	fi

$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

serve: setup  ## read the book at http://$(ADDR)
	$(BIN)/mkdocs serve --strict -a $(ADDR)

build: setup  ## build the site into site/, strictly
	$(BIN)/mkdocs build --strict

tangle: setup  ## write micrograd/ from the chapters
	$(BIN)/python -m tools.tangle

test: setup  ## everything: tangle check, chapters, unit tests, site
	$(BIN)/python -m pytest

clean:
	rm -rf site .pytest_cache test-artifacts
