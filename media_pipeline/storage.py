"""Object storage: the only module that talks to boto3.

Media files go through Django's storage API (django-storages' S3 backend when
``S3_BUCKET`` is set); this module covers what that API cannot: creating the
private bucket and raw client access for the pipeline and health checks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    s3={"addressing_style": "path"},
    # Presigned playback URLs: SigV4 (boto3 still defaults to SigV2 for them).
    signature_version="s3v4",
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


# --- the pipeline's objects ----------------------------------------------------
# boto3's TransferConfig for big sources (RELIABILITY.md "S3 / MinIO / boto3").
TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=64 * 1024**2, multipart_chunksize=64 * 1024**2, max_concurrency=4
)
UPLOAD_THREADS = 4  # segments are small; 4 parallel PUTs saturate a local MinIO
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".jpg": "image/jpeg",
}


def object_put(path: Path, key: str, *, client: Any = None) -> None:
    client = client or s3_client()
    content_type = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    client.upload_file(
        str(path),
        settings.S3_BUCKET,
        key,
        ExtraArgs={"ContentType": content_type},
        Config=TRANSFER_CONFIG,
    )


def objects_put(files: list[tuple[Path, str]]) -> None:
    """Upload many files in parallel; the first error is raised after all finished."""
    client = s3_client()  # boto3 clients are thread-safe; sessions are not
    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
        for future in [pool.submit(object_put, path, key, client=client) for path, key in files]:
            future.result()


def object_bytes_put(data: bytes, key: str, content_type: str) -> None:
    s3_client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=data, ContentType=content_type)


def object_keys(prefix: str) -> list[str]:
    keys: list[str] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def object_get(key: str) -> bytes:
    body = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"]
    data: bytes = body.read()
    return data


def presigned_get(key: str, seconds: int) -> str:
    url: str = s3_client().generate_presigned_url(
        "get_object", Params={"Bucket": settings.S3_BUCKET, "Key": key}, ExpiresIn=seconds
    )
    return url


# Errors worth a retry with backoff: the store or the network, not our input.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    BotoCoreError,
    ClientError,
    ConnectionError,
    TimeoutError,
)


def objects_delete(prefix: str) -> int:
    """Delete every object under ``prefix`` (tests, the orphan cleanup)."""
    keys = object_keys(prefix)
    client = s3_client()
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=settings.S3_BUCKET, Delete={"Objects": batch})
    return len(keys)


def presigned_post(key: str, *, content_type: str, max_bytes: int, expires_in: int) -> Any:
    """A POST policy for exactly this key and type, at most ``max_bytes``."""
    return s3_client().generate_presigned_post(
        settings.S3_BUCKET,
        key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
        ],
        ExpiresIn=expires_in,
    )


def object_size(key: str) -> int | None:
    try:
        head = s3_client().head_object(Bucket=settings.S3_BUCKET, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return int(head["ContentLength"])


def object_download(key: str, destination: Path) -> None:
    s3_client().download_file(settings.S3_BUCKET, key, str(destination), Config=TRANSFER_CONFIG)


# Per-attempt upload objects are useless after two days, and a client's
# abandoned multipart upload costs storage until aborted (RELIABILITY.md
# "Lifecycle", U6). MinIO accepts AbortIncompleteMultipartUpload only next to
# an Expiration, and then silently drops it (S3 keeps it), so
# media_pipeline/cleanup.py aborts stale multipart uploads itself; the pipeline's own
# multipart uploads (sources over 64 MiB under media/) are aborted by
# media_pipeline/cleanup.py when a killed worker leaves one behind.
LIFECYCLE_RULES = [
    {
        "ID": "expire-upload-attempts",
        "Status": "Enabled",
        "Filter": {"Prefix": "uploads/"},
        "Expiration": {"Days": 2},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    },
]


def lifecycle_ensure() -> None:
    s3_client().put_bucket_lifecycle_configuration(
        Bucket=settings.S3_BUCKET, LifecycleConfiguration={"Rules": LIFECYCLE_RULES}
    )


def lifecycle_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = s3_client().get_bucket_lifecycle_configuration(
        Bucket=settings.S3_BUCKET
    )["Rules"]
    return rules


def objects_listed(prefix: str) -> list[dict[str, Any]]:
    """Key, size and LastModified of every object under ``prefix``."""
    objects: list[dict[str, Any]] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return objects


def multipart_uploads() -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = []
    paginator = s3_client().get_paginator("list_multipart_uploads")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET):
        uploads.extend(page.get("Uploads", []))
    return uploads


def multipart_abort(key: str, upload_id: str) -> None:
    s3_client().abort_multipart_upload(Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id)


def object_delete(key: str) -> None:
    s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=key)


# --- resumable uploads (media_pipeline/multipart.py) ----------------------------


def multipart_open(key: str) -> list[dict[str, Any]]:
    """Open multipart uploads for exactly ``key`` (oldest first)."""
    listed = s3_client().list_multipart_uploads(Bucket=settings.S3_BUCKET, Prefix=key)
    return [upload for upload in listed.get("Uploads", []) if upload["Key"] == key]


def multipart_create(key: str, *, content_type: str) -> str:
    created = s3_client().create_multipart_upload(
        Bucket=settings.S3_BUCKET, Key=key, ContentType=content_type
    )
    return str(created["UploadId"])


def multipart_part_url(key: str, upload_id: str, number: int, seconds: int) -> str:
    url: str = s3_client().generate_presigned_url(
        "upload_part",
        Params={
            "Bucket": settings.S3_BUCKET,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": number,
        },
        ExpiresIn=seconds,
    )
    return url


def multipart_parts(key: str, upload_id: str) -> dict[int, dict[str, Any]]:
    """Stored parts by number: their ``Size`` and ``ETag``."""
    parts: dict[int, dict[str, Any]] = {}
    paginator = s3_client().get_paginator("list_parts")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id):
        for part in page.get("Parts", []):
            parts[int(part["PartNumber"])] = part
    return parts


def multipart_complete(key: str, upload_id: str, parts: dict[int, dict[str, Any]]) -> None:
    """Join ``parts`` (as listed by ``multipart_parts``) in number order."""
    s3_client().complete_multipart_upload(
        Bucket=settings.S3_BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": number, "ETag": parts[number]["ETag"]} for number in sorted(parts)
            ]
        },
    )
