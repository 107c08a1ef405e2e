"""S3 / MinIO: the only module that talks to boto3.

Asset sources go through Django's storage API (django-storages' S3 backend,
same bucket); this store covers what that API cannot: the private bucket and
its lifecycle, parallel segment uploads, presigned URLs and multipart uploads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from media_pipeline.storage.base import ObjectStore, content_type_for

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
    # Segment uploads run UPLOAD_THREADS at a time through one client.
    max_pool_connections=10,
)
# boto3's TransferConfig for big sources (RELIABILITY.md "S3 / MinIO / boto3").
TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=64 * 1024**2, multipart_chunksize=64 * 1024**2, max_concurrency=4
)
_MISSING = {"404", "NoSuchKey", "NotFound"}

# Per-attempt upload objects are useless after two days, and a client's
# abandoned multipart upload costs storage until aborted (RELIABILITY.md
# "Lifecycle", U6). MinIO accepts AbortIncompleteMultipartUpload only next to
# an Expiration, and then silently drops it (S3 keeps it), so
# media_pipeline/cleanup.py aborts stale multipart uploads itself, the
# pipeline's own (sources over 64 MiB that a killed worker left) included.
LIFECYCLE_RULES = [
    {
        "ID": "expire-upload-attempts",
        "Status": "Enabled",
        "Filter": {"Prefix": "uploads/"},
        "Expiration": {"Days": 2},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    },
]


def s3_client() -> Any:
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL or None,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        config=CLIENT_CONFIG,
    )


def ensure_bucket(bucket: str) -> str:
    """Create the bucket if it is missing; it stays private (no policy)."""
    client = s3_client()
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
            raise
        client.create_bucket(Bucket=bucket)
    return bucket


class S3Store(ObjectStore):
    """One bucket through one client (boto3 clients are thread-safe)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.client = s3_client()

    def prepare(self) -> None:
        ensure_bucket(self.bucket)
        self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": LIFECYCLE_RULES}
        )

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self.client.get_bucket_lifecycle_configuration(
            Bucket=self.bucket
        )["Rules"]
        return rules

    # --- objects ---------------------------------------------------------------
    def object_put(self, path: Path, key: str) -> None:
        self.client.upload_file(
            str(path),
            self.bucket,
            key,
            ExtraArgs={"ContentType": content_type_for(key)},
            Config=TRANSFER_CONFIG,
        )

    def object_bytes_put(self, data: bytes, key: str, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def object_get(self, key: str) -> bytes:
        data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def object_size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return int(head["ContentLength"])

    def object_download(self, key: str, destination: Path) -> None:
        self.client.download_file(self.bucket, key, str(destination), Config=TRANSFER_CONFIG)

    def object_delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def objects_listed(self, prefix: str) -> list[dict[str, Any]]:
        objects: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            objects.extend(page.get("Contents", []))
        return objects

    def objects_delete(self, prefix: str) -> int:
        keys = self.object_keys(prefix)
        for start in range(0, len(keys), 1000):  # S3's batch limit
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})
        return len(keys)

    # --- URLs --------------------------------------------------------------------
    def presigned_get(self, key: str, seconds: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )
        return url

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        post: dict[str, Any] = self.client.generate_presigned_post(
            self.bucket,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return post

    # --- multipart ---------------------------------------------------------------
    def multipart_uploads(self) -> list[dict[str, Any]]:
        uploads: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket):
            uploads.extend(page.get("Uploads", []))
        return uploads

    def multipart_open(self, key: str) -> list[dict[str, Any]]:
        # A prefix listing, not all of the bucket's uploads: this runs per request.
        listed = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        return [upload for upload in listed.get("Uploads", []) if upload["Key"] == key]

    def multipart_create(self, key: str, *, content_type: str) -> str:
        created = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ContentType=content_type
        )
        return str(created["UploadId"])

    def multipart_part_url(self, key: str, upload_id: str, number: int, seconds: int) -> str:
        url: str = self.client.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=seconds,
        )
        return url

    def multipart_parts(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        parts: dict[int, dict[str, Any]] = {}
        paginator = self.client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id):
            for part in page.get("Parts", []):
                parts[int(part["PartNumber"])] = part
        return parts

    def multipart_complete(
        self, key: str, upload_id: str, parts: dict[int, dict[str, Any]]
    ) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": number, "ETag": parts[number]["ETag"]}
                    for number in sorted(parts)
                ]
            },
        )

    def multipart_abort(self, key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
