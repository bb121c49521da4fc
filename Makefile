SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROTOS := $(shell find proto -name '*.proto')
GEN_STAMP := gen/.stamp
MINIAPP_SRC := $(shell find miniapp/src miniapp/index.html miniapp/package.json miniapp/tsconfig.json miniapp/vite.config.ts -type f 2>/dev/null)
MINIAPP_STAMP := miniapp/dist/.stamp

.PHONY: help setup run test test-resilience lint fmt proto miniapp clean bench bench-deps system-deps tools

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

miniapp/node_modules/.installed: miniapp/package.json miniapp/package-lock.json
	cd miniapp && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov pins many packages (old `packaging`, aiodns...); it gets a venv of its own so
# it never constrains the product's dependencies.
.venv-tools/.installed:
	test -d .venv-tools || $(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install --quiet 'checkov>=3.2,<4'
	touch $@

tools: .venv-tools/.installed ## install the manifest scanner (checkov) in its own venv

$(GEN_STAMP): $(VENV)/.installed $(PROTOS)
	rm -rf gen/analyticbot
	mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iproto \
	  --plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
	  --python_out=gen --pyi_out=gen --grpc_python_out=gen --mypy_grpc_out=gen $(PROTOS)
	touch $@

proto: $(GEN_STAMP) ## generate Python code from proto/ into gen/

$(MINIAPP_STAMP): miniapp/node_modules/.installed $(MINIAPP_SRC)
	cd miniapp && npm run --silent build
	touch $@

miniapp: $(MINIAPP_STAMP) ## build the Mini App into miniapp/dist

system-deps: ## install the Debian packages the tests need (chromium, kubectl, wrk)
	@command -v chromium >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v kubectl >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubectl >/dev/null; }
	@command -v wrk >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

setup: $(VENV)/.installed .venv-tools/.installed node_modules/.installed $(GEN_STAMP) $(MINIAPP_STAMP) ## install everything

run: setup ## run the whole product locally (embedded PostgreSQL/Redis unless URLs are given)
	$(BIN)/analyticbot run

lint: setup ## ruff, mypy and buf lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node_modules/.bin/buf lint
	cd miniapp && npm run --silent typecheck

fmt: $(VENV)/.installed ## format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup system-deps lint ## lint, then every test against real PostgreSQL and Redis
	$(BIN)/pytest -q

# The drills in full: 30 s outages of the drills' own PostgreSQL and Redis, auth,
# analytics, collector and gateway each killed under load (the supervisor restarts them),
# and the collector and bot SIGKILL crash tests. `make test`
# runs the same drills with 5 s outages (tests/resilience is part of the suite).
test-resilience: setup ## resilience drills in full; prints each drill's figures
	ANALYTICBOT_FULL_DRILLS=1 $(BIN)/pytest -q -s tests/resilience \
	  tests/integration/collector/test_collector_crash.py tests/integration/bot/test_bot_crash.py

bench-deps: system-deps ## also the load generators only benchmarks use (h2load)
	@command -v h2load >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null; }

bench: setup ## run the benchmarks and rewrite docs/benchmarks.md
	$(BIN)/python -m bench

clean: ## remove generated files and local data
	rm -rf gen/analyticbot $(GEN_STAMP) miniapp/dist .data
