"""What the pipeline asks of object storage, whichever store holds the bytes.

Two stores implement it: ``S3Store`` (MinIO or S3, the servers we ship
against) and ``LocalStore`` (files under MEDIA_ROOT, the quick start's
embedded default). Keys are the same in both (``uploads/…``, ``media/…``), and
Django's ``default_storage`` writes asset sources into the same key space, so
the cleanup and the pipeline never ask which store they run on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

UPLOAD_THREADS = 4  # segments are small; 4 parallel PUTs saturate a local MinIO
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".jpg": "image/jpeg",
}


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")


class ObjectStore(ABC):
    """Objects by key, signed URLs for clients, and resumable multipart uploads.

    Listings return S3's shapes (``Key``, ``Size``, ``LastModified``,
    ``UploadId``, ``Initiated``, ``PartNumber``, ``ETag``) so callers read one
    vocabulary.
    """

    @abstractmethod
    def prepare(self) -> None:
        """Make the store usable (bucket, lifecycle, directories); idempotent."""

    # --- objects ---------------------------------------------------------------
    @abstractmethod
    def object_put(self, path: Path, key: str) -> None: ...

    @abstractmethod
    def object_bytes_put(self, data: bytes, key: str, content_type: str) -> None: ...

    @abstractmethod
    def object_get(self, key: str) -> bytes: ...

    @abstractmethod
    def object_size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""

    @abstractmethod
    def object_download(self, key: str, destination: Path) -> None: ...

    @abstractmethod
    def object_delete(self, key: str) -> None: ...

    @abstractmethod
    def objects_listed(self, prefix: str) -> list[dict[str, Any]]:
        """``Key``, ``Size`` and ``LastModified`` of every object under ``prefix``."""

    def objects_put(self, files: list[tuple[Path, str]]) -> None:
        """Upload many files in parallel; the first error is raised after all finished."""
        with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            for future in [pool.submit(self.object_put, path, key) for path, key in files]:
                future.result()

    def object_keys(self, prefix: str) -> list[str]:
        return [item["Key"] for item in self.objects_listed(prefix)]

    def objects_delete(self, prefix: str) -> int:
        """Delete every object under ``prefix`` (tests, the orphan cleanup)."""
        keys = self.object_keys(prefix)
        for key in keys:
            self.object_delete(key)
        return len(keys)

    # --- what clients get: URLs that expire -----------------------------------
    @abstractmethod
    def presigned_get(self, key: str, seconds: int) -> str: ...

    @abstractmethod
    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """``url`` and form ``fields`` for one POST of exactly this key and
        type, at most ``max_bytes``."""

    # --- resumable uploads (media_pipeline/multipart.py) -----------------------
    @abstractmethod
    def multipart_uploads(self) -> list[dict[str, Any]]:
        """Every open multipart upload: ``Key``, ``UploadId``, ``Initiated``."""

    def multipart_open(self, key: str) -> list[dict[str, Any]]:
        """Open multipart uploads for exactly ``key`` (oldest first)."""
        found = [upload for upload in self.multipart_uploads() if upload["Key"] == key]
        return sorted(found, key=lambda upload: upload["Initiated"])

    @abstractmethod
    def multipart_create(self, key: str, *, content_type: str) -> str: ...

    @abstractmethod
    def multipart_part_url(self, key: str, upload_id: str, number: int, seconds: int) -> str: ...

    @abstractmethod
    def multipart_parts(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        """Stored parts by number: their ``Size`` and ``ETag``."""

    @abstractmethod
    def multipart_complete(
        self, key: str, upload_id: str, parts: dict[int, dict[str, Any]]
    ) -> None:
        """Join ``parts`` (as listed by ``multipart_parts``) in number order."""

    @abstractmethod
    def multipart_abort(self, key: str, upload_id: str) -> None: ...
