"""Object storage for the pipeline: ``store()`` is S3/MinIO when ``S3_BUCKET``
is set, else files under MEDIA_ROOT (the quick start). See ``base.py``."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from media_pipeline.storage.base import UPLOAD_THREADS, ObjectStore
from media_pipeline.storage.local import LocalStore
from media_pipeline.storage.s3 import S3Store

__all__ = ["TRANSIENT_ERRORS", "UPLOAD_THREADS", "LocalStore", "ObjectStore", "S3Store", "store"]

# Errors worth a retry with backoff: the store or the network, not our input.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    BotoCoreError,
    ClientError,
    ConnectionError,
    TimeoutError,
)


def store() -> ObjectStore:
    """The configured store. One per process and configuration: a client's
    connection pool is reused, and never shared across a worker's fork."""
    if settings.S3_BUCKET:
        return _s3_store(
            settings.S3_BUCKET,
            settings.S3_ENDPOINT_URL,
            settings.S3_REGION,
            settings.S3_ACCESS_KEY_ID,
            settings.S3_SECRET_ACCESS_KEY,
            os.getpid(),
        )
    return _local_store(str(settings.MEDIA_ROOT))


@functools.lru_cache(maxsize=8)
def _s3_store(bucket: str, *configuration: object) -> S3Store:
    return S3Store(bucket)  # the client reads the same settings


@functools.lru_cache(maxsize=8)
def _local_store(root: str) -> LocalStore:
    return LocalStore(Path(root))
