"""Object storage: the only module that talks to boto3.

Media files go through Django's storage API (django-storages' S3 backend when
``S3_BUCKET`` is set); this module covers what that API cannot: creating the
private bucket and raw client access for the pipeline and health checks.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    s3={"addressing_style": "path"},
    # MinIO does not need the newer default checksums (boto/boto3#4392).
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)


def s3_client() -> Any:
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL or None,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        config=CLIENT_CONFIG,
    )


def ensure_bucket(bucket: str | None = None) -> str:
    """Create the media bucket if it is missing; it stays private (no policy)."""
    name = bucket or settings.S3_BUCKET
    client = s3_client()
    try:
        client.head_bucket(Bucket=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
            raise
        client.create_bucket(Bucket=name)
    return name
