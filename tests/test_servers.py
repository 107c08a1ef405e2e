"""Smoke tests: each real server the product ships against is up and usable.

These fail, never skip, when a server is missing: the test command starts
them all (scripts/services up), so a missing one is a broken environment.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from media_pipeline import ffmpeg
from media_pipeline.storage.s3 import ensure_bucket, s3_client
from search.backends import elasticsearch as search_backend

pytestmark = pytest.mark.services


@pytest.mark.django_db
def test_postgresql_is_version_15():
    assert connection.vendor == "postgresql"
    assert connection.pg_version // 10000 == 15


def test_redis_answers_ping():
    assert settings.REDIS_URL, "REDIS_URL is not set: run scripts/services env"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5)
    assert client.ping() is True


def test_elasticsearch_cluster_is_healthy_and_version_8():
    health = search_backend.cluster_health()
    assert health["status"] in {"green", "yellow"}
    assert health["number_of_nodes"] == 1
    assert search_backend.server_version().startswith("8.")


def test_minio_bucket_round_trip_with_boto3():
    bucket = ensure_bucket(f"wanxue-smoke-{uuid.uuid4().hex[:8]}")
    client = s3_client()
    body = "皖学 smoke test".encode()
    client.put_object(Bucket=bucket, Key="smoke/hello.txt", Body=body)
    assert client.get_object(Bucket=bucket, Key="smoke/hello.txt")["Body"].read() == body
    client.delete_object(Bucket=bucket, Key="smoke/hello.txt")
    client.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_ffmpeg_is_at_least_version_5():
    major, _minor = ffmpeg.ffmpeg_version()
    assert major >= ffmpeg.MINIMUM_FFMPEG_MAJOR


@pytest.mark.django_db
def test_migrate_creates_the_private_media_bucket(settings):
    # A fresh MinIO (as in CI) has no bucket; the deploy step must make it.
    settings.S3_BUCKET = f"wanxue-migrate-{uuid.uuid4().hex[:8]}"
    client = s3_client()
    assert settings.S3_BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]
    call_command("migrate", verbosity=0)
    client.head_bucket(Bucket=settings.S3_BUCKET)
    client.delete_bucket(Bucket=settings.S3_BUCKET)
