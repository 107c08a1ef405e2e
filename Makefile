# One entry point for people and CI. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
UV_VERSION := 0.13.8
# Use the machine's Python 3.11; never let uv download an interpreter.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
# uv lives in its own small venv: Debian's python3.11 refuses `pip install`
# (externally managed), and `uv sync` makes .venv exact, so uv can't live there.
TOOLS := .venv-tools
UV_STAMP := $(TOOLS)/uv-$(UV_VERSION)

.PHONY: demo test services-up services-down services-status lint bootstrap

$(UV_STAMP):
	@command -v python3.11 >/dev/null || { echo "make: python3.11 not found (Debian/Ubuntu: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
	@rm -rf $(TOOLS)
	@if ! python3.11 -m venv $(TOOLS) >/dev/null 2>&1; then \
	  rm -rf $(TOOLS); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "make: python3.11 -m venv failed; installing python3.11-venv with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-venv >/dev/null; \
	  else \
	    echo "make: python3.11 -m venv failed; install python3.11-venv (sudo apt-get install python3.11-venv) and re-run" >&2; exit 1; \
	  fi; \
	  python3.11 -m venv $(TOOLS); \
	fi
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	touch $@

.venv/.synced: pyproject.toml uv.lock $(UV_STAMP)
	$(TOOLS)/bin/uv sync --frozen
	touch $@

bootstrap: .venv/.synced

demo: bootstrap   ## Quick start: embedded SQLite, local media, filesystem broker, demo data.
	scripts/demo

test: bootstrap   ## The whole suite against real PostgreSQL, Redis, Elasticsearch, MinIO, ffmpeg.
	scripts/test

lint: bootstrap
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy .

services-up:
	scripts/services up

services-down:
	scripts/services down

services-status:
	scripts/services status
