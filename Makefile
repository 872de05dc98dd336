# Two commands do everything on a fresh machine:
#   make lab    JupyterLab on the tutorial notebooks, against the bundled demo servers
#   make test   the whole test suite
# and: make bench (benchmarks), make notebooks (re-run the tutorials, saving outputs)
# Both create what they need: the virtual environment, its packages, the
# third-party test servers from the npm registry, and (for the browser tests)
# Debian's chromium.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NPM_DIR := .cache/npm
# A third-party server built on the TypeScript SDK, pinned for repeatable tests.
EVERYTHING := @modelcontextprotocol/server-everything@2026.8.31
EVERYTHING_JS := $(NPM_DIR)/node_modules/@modelcontextprotocol/server-everything/dist/index.js
PYTEST_ARGS ?=
LAB_ARGS ?=
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# JupyterLab refuses to start as root (containers, CI machines) unless told it may.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test bench install notebooks clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "mcpnb needs Python 3.10 or newer, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[lab,llm,dask,test]'
	touch $(STAMP)

$(EVERYTHING_JS):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error $(EVERYTHING); \
	else \
		echo "npm not found: tests against the npm third-party server will be skipped"; \
	fi

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --LabApp.default_url=/lab/tree/index.ipynb $(ALLOW_ROOT) $(LAB_ARGS)

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	else \
		echo "no apt-get: install chromium yourself (or set CHROMIUM=path); the browser tests will be skipped"; \
	fi

test: install $(EVERYTHING_JS) $(CHROMIUM)
	MCPNB_EVERYTHING_JS=$(abspath $(EVERYTHING_JS)) MCPNB_CHROMIUM=$(CHROMIUM) $(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/fanout.py
	$(PY) benchmarks/trace_memory.py
	$(PY) benchmarks/dask_map.py
	$(PY) benchmarks/frames.py
	$(PY) benchmarks/sign_in.py
	$(PY) benchmarks/workbench.py
	$(PY) benchmarks/chat.py

notebooks: install
	$(PY) scripts/execute_notebooks.py

clean:
	rm -rf $(VENV) .cache .pytest_cache
