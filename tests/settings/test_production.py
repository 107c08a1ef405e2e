"""Production settings fail fast without their secrets and pass Django's deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-test-secret-" + "x" * 30,
    "DJANGO_ALLOWED_HOSTS": "wanxue.example.edu.cn",
    "DATABASE_URL": "postgres://wanxue:secret@db.internal:5432/wanxue",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ELASTICSEARCH_URL": "http://search.internal:9200",
    "S3_BUCKET": "wanxue-media",
    "S3_ACCESS_KEY_ID": "access",
    "S3_SECRET_ACCESS_KEY": "secret",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secrets():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "DJANGO_SECRET_KEY"}
    env.pop("S3_SECRET_ACCESS_KEY")
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert (
        "production settings need these environment variables: "
        "DJANGO_SECRET_KEY, S3_SECRET_ACCESS_KEY" in result.stderr
    )


def test_production_refuses_a_short_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 characters" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
