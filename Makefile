# Pollen — the Makefile is the interface; CI runs the same targets (.ci/run -> make test, make soak).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Newest CPython >= 3.11 on the machine; override with `make PYTHON=python3.12 ...`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tools outside the project's resolution (their pins clash with ours): uv and the AWS SAM CLI.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
SAM := $(TOOLS)/bin/sam
TOOLS_STAMP := $(TOOLS)/.installed
export UV_PYTHON_DOWNLOADS := never
# Keep bytecode even where the environment sets PYTHONDONTWRITEBYTECODE: otherwise every process (each
# pytest worker, each local stack the e2e tests start, each bench import) compiles ~1,000 modules again.
# The caches live under .tools (created before .venv, which uv must find empty or a real environment).
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(TOOLS)/pycache
export SAM_CLI_TELEMETRY := 0
PORT ?= 3000
PYTEST_ARGS ?=

.PHONY: help install lock upgrade dev dev-reset test soak lint format typecheck template-check unit integration e2e \
	bench build deploy requirements clean dashboard widget browser

help: ## Show the targets
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "} {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(TOOLS_STAMP): infra/tools/uv.txt infra/tools/requirements.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (set PYTHON=...)"; exit 1; }
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --no-deps --require-hashes -r infra/tools/uv.txt
	$(UV) pip sync --quiet --require-hashes --python $(TOOLS)/bin/python infra/tools/requirements.txt
	@touch $(TOOLS_STAMP)

# Installs exactly what uv.lock pins (hashes checked); never resolves anything new.
$(STAMP): pyproject.toml uv.lock | $(TOOLS_STAMP)
	@$(UV) lock --check --quiet --python $(PYTHON) 2>/dev/null || { \
	  echo "uv.lock does not match pyproject.toml: run \`make lock\` and commit uv.lock" >&2; exit 1; }
	$(UV) sync --quiet --locked --extra dev --python $(PYTHON)
	@touch $(STAMP)

install: $(STAMP) ## Create .venv from the lock file (uv.lock) with Pollen and its dev tools

lock: $(TOOLS_STAMP) ## After editing dependencies: update uv.lock (other pins kept) and the layer's requirements
	$(UV) lock --python $(PYTHON)
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes infra/tools/uv.in -o infra/tools/uv.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes infra/tools/requirements.in -o infra/tools/requirements.txt
	$(TOOLS)/bin/python -m infra.requirements --write

upgrade: $(TOOLS_STAMP) ## Move every pin (project and tools) to the newest release allowed; then run `make test`
	$(UV) lock --upgrade --python $(PYTHON)
	$(UV) pip compile --quiet --upgrade --universal --python-version 3.11 --generate-hashes infra/tools/uv.in -o infra/tools/uv.txt
	$(UV) pip compile --quiet --upgrade --universal --python-version 3.11 --generate-hashes infra/tools/requirements.in -o infra/tools/requirements.txt
	$(TOOLS)/bin/python -m infra.requirements --write

dev: $(STAMP) dashboard widget ## Serve the whole API (and /dashboard, /demo-store) locally on moto; resumes the saved demo store (PORT=3000)
	PORT=$(PORT) $(BIN)/python -m infra.local

dev-reset: $(STAMP) dashboard widget ## Like dev, but delete the saved local state first and seed a new demo store
	PORT=$(PORT) $(BIN)/python -m infra.local --reset

test: $(STAMP) lint typecheck template-check dashboard widget browser ## Lint, type check, template checks and every test (soaks small)
	$(BIN)/python -m pytest -n 3 --dist loadgroup -m "not soak" $(PYTEST_ARGS)

soak: $(STAMP) ## The full-size soak tests (1,000 events through a flaky receiver, a 10,000-row import, the full fuzz run); CI runs them after `make test`
	$(BIN)/python -m pytest -m soak $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and the layer contracts (import-linter, pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP) ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP) ## mypy (strict on layers/ and functions/)
	$(BIN)/mypy layers/pollen/pollen functions infra tests

template-check: $(VENV)/.template-checked ## cfn-lint and `sam validate --lint` the template; layer requirements match uv.lock

# Re-checked only when the template, the lock, the layer's requirements or the tools changed.
$(VENV)/.template-checked: template.yaml pyproject.toml uv.lock layers/pollen/requirements.txt infra/requirements.py $(STAMP) $(TOOLS_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --template template.yaml --region us-east-1
	$(BIN)/python -m infra.requirements --check
	@touch $@

unit: $(STAMP) ## Unit tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP) ## Integration tests (moto in-process)
	$(BIN)/python -m pytest tests/integration -m "not soak" $(PYTEST_ARGS)

e2e: $(STAMP) ## End-to-end tests against the local stack over HTTP
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

bench: $(STAMP) dashboard widget browser ## Benchmarks: DynamoDB round trips and latency per request; dashboard and widget JS size; widget first render
	@failed=""; \
	for part in bench dashboard_size widget_size layer_size widget_render; do \
	  $(BIN)/python -m infra.$$part || failed="$$failed $$part"; \
	done; \
	if [ -n "$$failed" ]; then echo "make bench: over a budget in:$$failed" >&2; exit 1; fi

requirements: $(TOOLS_STAMP) ## Export the layer's requirements.txt from uv.lock (part of `make lock`)
	$(TOOLS)/bin/python -m infra.requirements --write

build: $(TOOLS_STAMP) dashboard widget ## sam build (builds the dashboard and widget first): no Docker; a Python 3.13 compiles the layer's bytecode (layers/pollen/Makefile)
	PYTHON=$(CURDIR)/$(TOOLS)/bin/python $(SAM) build --template template.yaml

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(SAM) deploy --guided

# ---- merchant dashboard (web/dashboard): Vite + TypeScript, built into web/dashboard/dist ----------
DASH := web/dashboard
DASH_INPUTS := $(shell find $(DASH)/src -type f 2>/dev/null) $(DASH)/index.html $(DASH)/vite.config.ts $(DASH)/tsconfig.json
CHROMIUM ?= /usr/bin/chromium

$(DASH)/node_modules/.installed: $(DASH)/package.json $(DASH)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The dashboard needs Node.js 20+ and npm (https://nodejs.org)"; exit 1; }
	cd $(DASH) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(DASH)/dist/index.html: $(DASH)/node_modules/.installed $(DASH_INPUTS)
	cd $(DASH) && npm run --silent build

dashboard: $(DASH)/dist/index.html ## Build the merchant dashboard (npm ci + type check + vite build) when its sources changed

# ---- storefront widget (web/widget): the same toolchain, one script web/widget/dist/pollen-widget.js ----
WIDGET := web/widget

$(WIDGET)/node_modules/.installed: $(WIDGET)/package.json $(WIDGET)/package-lock.json
	cd $(WIDGET) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WIDGET)/dist/pollen-widget.js: $(WIDGET)/node_modules/.installed $(shell find $(WIDGET)/src -type f 2>/dev/null) $(WIDGET)/vite.config.ts $(WIDGET)/tsconfig.json
	cd $(WIDGET) && npm run --silent build

widget: $(WIDGET)/dist/pollen-widget.js ## Build the storefront widget (<pollen-rewards>, <pollen-cart-coins>)

browser: ## Make sure headless Chromium is here for the browser tests (installs Debian's chromium as root)
	@test -x $(CHROMIUM) || command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  fi; \
	  test -x $(CHROMIUM) || command -v chromium >/dev/null 2>&1 || { \
	    echo "The browser tests need headless Chromium at $(CHROMIUM): install Debian's package (sudo apt-get install chromium)" \
	      "or set CHROMIUM=/path/to/chromium. Playwright's own browser downloads are not used."; exit 1; }; }

clean: ## Remove the virtualenv, build output and local state
	rm -rf $(TOOLS) $(VENV) .aws-sam .pollen .mypy_cache .ruff_cache .pytest_cache .artifacts $(DASH)/dist $(DASH)/node_modules $(WIDGET)/dist $(WIDGET)/node_modules
