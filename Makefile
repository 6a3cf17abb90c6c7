# meterpipe: every command a newcomer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
# The console's browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
# Stamps make `setup` idempotent and instant when nothing changed.
PY_STAMP   := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

# The suite runs on every core (pytest-xdist), a test file per worker so a file's shared localcloud
# and deployment are built once; most of its time is spent waiting on localcloud subprocesses.
# PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS ?=
# Extra CDK CLI arguments, e.g. CDK_ARGS="-c meterpipe:timezone=Europe/London".
CDK_ARGS ?=
# On a Node.js past its end of life, jsii prints a page-wide banner (as Python bytes) from every CDK
# call; the CDK targets say it in one line instead and silence the banner.
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
NODE_OLD   := $(shell [ "$(NODE_MAJOR)" -lt 22 ] 2>/dev/null && echo yes)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(NODE_MAJOR)
NODE_NOTE = $(if $(NODE_OLD),@echo "note: Node.js $(NODE_MAJOR) is past its end of life for the AWS CDK (jsii supports 22 and 24); it still works" >&2,@true)

# $(CHROMIUM) is a file target: setup installs it once, and never fails for want of it.
.PHONY: help setup test screenshots wheel-check lint format demo bench scale synth bootstrap deploy destroy deploy-local destroy-local clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

setup: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM) ## Create .venv and node_modules (only when pyproject/package-lock changed); Chromium where apt is available

# Where apt-get runs as root (CI, the dev machines) setup installs Debian's Chromium; elsewhere the
# browser tests say what is missing and skip, except in CI (CI=true), where they fail.
$(CHROMIUM):
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium for the console's browser tests"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	else \
		echo "note: no $(CHROMIUM) and no root apt-get: the console's browser tests will skip (install Debian's chromium)" >&2; \
	fi

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "meterpipe needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,infra,local]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js) is needed for the CDK CLI and the ASL validator" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: setup ## Run the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

screenshots: setup ## Retake the console's screenshots in docs/img (its browser tests, on a fresh localcloud)
	METERPIPE_SCREENSHOTS=docs/img $(BIN)/pytest tests/e2e/console/test_browser.py -q

wheel-check: setup ## Build the wheel, install it (alone, then with [local]) in a fresh virtualenv, run a day outside the checkout
	PYTHON=$(PY) .ci/wheel-check

lint: setup ## ruff check, ruff format --check, mypy (strict on localcloud, meterpipe, handlers)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: setup ## The whole pipeline on localcloud: a generated month backfilled (KEEP=1 leaves localcloud running)
	$(PY) -m meterpipe.demo $(if $(KEEP),--keep,)

bench: setup ## Performance figures against same-run references, under bench/results/ (~5 min; FULL=1: every size, ~35 min)
	$(if $(FULL),BENCH_FULL=1 ,)$(PY) -m bench

scale: setup ## The demo's month at 1,000 customers, every item checked against Decimal totals (~6 min; CUSTOMERS=n)
	$(PY) -m bench.scale $(CUSTOMERS)

synth: setup ## Synthesise the CDK app offline into cdk.out/ (no credentials needed; cdk-nag runs)
	$(NODE_NOTE)
	npx cdk synth --quiet $(CDK_ARGS)

bootstrap: setup ## Prepare the account and region of your credentials for CDK deployments (once)
	$(NODE_NOTE)
	npx cdk bootstrap $(CDK_ARGS)

deploy: setup ## Deploy the stack to the AWS account of your credentials (cdk deploy)
	$(NODE_NOTE)
	npx cdk deploy --require-approval broadening $(CDK_ARGS)

destroy: setup ## Remove the deployed stack (cdk destroy; data is retained unless configured otherwise)
	$(NODE_NOTE)
	npx cdk destroy $(CDK_ARGS)

deploy-local: setup ## cdk bootstrap + deploy into the running localcloud of HOME_DIR=..., else $METERPIPE_HOME, else .meterpipe; print the outputs
	$(NODE_NOTE)
	$(PY) -m meterpipe.local.cdk deploy $(if $(HOME_DIR),--home $(HOME_DIR),) -- $(CDK_ARGS)

destroy-local: setup ## cdk destroy the stack in the running localcloud of the home folder (what the template retains stays)
	$(NODE_NOTE)
	$(PY) -m meterpipe.local.cdk destroy $(if $(HOME_DIR),--home $(HOME_DIR),) -- $(CDK_ARGS)

clean: ## Remove the virtualenv, node_modules and build output
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
