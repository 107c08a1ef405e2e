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
    "WAGTAILADMIN_BASE_URL": "https://wanxue.example.edu.cn",
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


def test_production_refuses_to_start_without_the_admin_base_url():
    # base.py's local default would hide wagtailadmin.W003 in production.
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "WAGTAILADMIN_BASE_URL"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert (
        "production settings need these environment variables: WAGTAILADMIN_BASE_URL"
        in result.stderr
    )


def test_production_refuses_a_short_secret_key():
    result = run_manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 characters" in result.stderr


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Django says "no issues (N silenced)": a silenced check hides a warning too.
    assert "System check identified no issues (0 silenced)." in result.stdout, output


def test_production_silences_no_system_checks():
    code = "from django.conf import settings; print(repr(settings.SILENCED_SYSTEM_CHECKS))"
    result = run_manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_production_serves_the_admins_static_files_itself(tmp_path):
    """collectstatic as the Dockerfile runs it (no server reachable), then the
    app itself (WhiteNoise) answers for the admin's CSS under a hashed name."""
    env = {**PRODUCTION_ENV, "WANXUE_VAR_DIR": str(tmp_path)}
    result = run_manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    code = (
        "from django.templatetags.static import static; from django.test import Client; "
        "url = static('wagtailadmin/css/core.css'); "
        "r = Client().get(url, secure=True, HTTP_HOST='wanxue.example.edu.cn'); "
        "print(url, r.status_code, r.headers.get('Cache-Control'))"
    )
    result = run_manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    url, status, cache_control = result.stdout.split(maxsplit=2)
    assert url != "/static/wagtailadmin/css/core.css"  # hashed: safe to cache for ever
    assert (status, cache_control.strip()) == ("200", "max-age=315360000, public, immutable")
