# The book's verbs. Each one bootstraps what it needs: the Debian packages
# (graphviz's `dot`, chromium for the browser tests, node and npm for the
# in-page runtime), a virtualenv in .venv and the npm packages in node_modules.
SHELL := /bin/bash
export NO_MKDOCS_2_WARNING := 1
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
ADDR ?= 127.0.0.1:8000
# package:what-shows-it-is-there (a command, or a path)
DEBS := graphviz:dot chromium:chromium fonts-dejavu-core:/usr/share/fonts/truetype/dejavu \
	nodejs:node npm:npm
# The in-page runtime (Pyodide, Graphviz in WebAssembly), pinned by package-lock.json
NODE_READY := node_modules/.ready

.PHONY: setup debs serve build test tangle check clean bench bench-page bench-suite chapter test-chapter

setup: debs $(READY) $(NODE_READY)

# Install each Debian package that is missing (apt-get as root, else sudo).
debs:
	@missing=""; for pair in $(DEBS); do \
	  what=$${pair#*:}; command -v $$what >/dev/null || [ -e $$what ] \
	    || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	  || { echo "could not install$$missing; install them with apt-get and retry" >&2; exit 1; }; \
	fi

# --no-compile: Python compiles what it imports when it first imports it; pip
# would compile every file of every package up front (torch alone: 11 s)
$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -e ".[test]"
	touch $@

$(NODE_READY): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

serve: setup  ## read the book at http://$(ADDR)
	$(BIN)/mkdocs serve --strict -a $(ADDR)

build: setup  ## build the site into site/, strictly
	$(BIN)/mkdocs build --strict

tangle: setup  ## write micrograd/ from the chapters
	$(BIN)/python -m tools.tangle

# CH=nn, CH=nn.md or CH=docs/nn.md
CH_FILE = docs/$(patsubst %.md,%,$(patsubst docs/%,%,$(CH))).md

chapter: setup  ## start a chapter from a template: make chapter NAME=softmax [TITLE="Softmax"]
	@$(BIN)/python -m tools.new_chapter "$(NAME)" --title "$(TITLE)"

test-chapter: setup  ## run one chapter's blocks: make test-chapter CH=nn
	@test -n "$(CH)" || { echo "say which chapter: make test-chapter CH=nn" >&2; exit 2; }
	@test -f $(CH_FILE) || { echo "no chapter $(CH_FILE); the chapters are in docs/:" \
	  $$(cd docs && ls *.md | sed 's/\.md$$//') >&2; exit 2; }
	$(BIN)/python -m pytest -q $(CH_FILE)

check: setup  ## lint: ruff over tools/, tests/, bench/ and the code of every chapter
	$(BIN)/ruff check tools tests bench
	$(BIN)/python -m tools.lint_chapters

# PyTorch is optional for readers (its chapter skips without it), but the tests
# run with it. Pinned: this exact version is a CPU build on the CI machines.
TORCH := torch==2.13.0
$(VENV)/.torch: $(READY)
	$(BIN)/python -m pip install -q --no-compile "$(TORCH)"
	touch $@

test: setup $(VENV)/.torch check  ## everything: lint, tangle check, chapters, unit tests, site, browser
	BOOK_BROWSER=required $(BIN)/python -m pytest -n auto --dist loadgroup

bench: setup  ## time the demo step against karpathy's micrograd 0.1.0 (from PyPI)
	$(BIN)/python -m bench.run

bench-page: setup  ## the in-page runtime: time to first output, training loop vs CPython, bytes
	$(BIN)/python -m bench.page

bench-suite: setup $(VENV)/.torch  ## the test suite's time by group, and each budget group on its own
	$(BIN)/python -m bench.suite --separately

clean:
	rm -rf site .pytest_cache test-artifacts
