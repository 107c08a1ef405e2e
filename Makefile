# One entry point for people and CI. `make demo` and `make test` are the README's two commands.
SHELL := /bin/bash
UV_VERSION := 0.13.8
# Use the machine's Python 3.11; never let uv download an interpreter.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11

.PHONY: demo test services-up services-down services-status lint bootstrap

.venv/.synced: pyproject.toml uv.lock
	python3.11 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	python3.11 -m uv sync --frozen
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
