"""Files under MEDIA_ROOT: object storage for the quick start, no server needed.

It keeps S3's contract so the pipeline, uploads and cleanup run unchanged:
objects appear whole or not at all (written aside, then renamed), clients get
URLs that expire and that the app checks (``media_pipeline/views.py`` serves
and receives them, signed with Django's signing, salted per purpose), and
multipart uploads keep their parts in ``.multipart/<upload id>/`` until
joined. Keys never start with a dot, so those working directories are never
listed as objects. Production uses S3Store: here every byte passes through
the app.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from django.core import signing
from django.urls import reverse

from media_pipeline.storage.base import ObjectStore

COPY_CHUNK = 8 * 1024 * 1024
# Where objects are written before they are renamed into place.
INCOMING = ".incoming"
MULTIPART = ".multipart"


# --- URLs the app signs and later checks (media_pipeline/views.py) ---------------
def url_token(purpose: str, claims: dict[str, Any], seconds: int) -> str:
    expires = int(time.time() + seconds)
    return signing.dumps({**claims, "e": expires}, salt=f"wanxue.storage.{purpose}")


def url_claims(purpose: str, token: str) -> dict[str, Any]:
    """The token's claims; ``signing.BadSignature`` when forged, for another
    purpose or expired (``SignatureExpired``)."""
    claims: dict[str, Any] = signing.loads(token, salt=f"wanxue.storage.{purpose}")
    if claims["e"] < time.time():
        raise signing.SignatureExpired("URL expired")
    return claims


class Readable(Protocol):
    """A file, an uploaded file or a request body."""

    def read(self, size: int = -1, /) -> bytes: ...


def _copy_at_most(stream: Readable, handle: IO[bytes], max_bytes: int) -> int:
    """Copy a client's bytes; ``ValueError`` past ``max_bytes`` (the caller
    drops what was written)."""
    written = 0
    while block := stream.read(COPY_CHUNK):
        written += len(block)
        if written > max_bytes:
            raise ValueError(f"more than {max_bytes} bytes")
        handle.write(block)
    return written


def _modified(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


class LocalStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        for directory in (self.root, self.root / INCOMING, self.root / MULTIPART):
            directory.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        # Keys are ours (uploads/<uuid>, media/<asset>/…), never a client's
        # filename; this guard keeps a bug from writing outside the root.
        parts = key.split("/")
        if not key or key.startswith(("/", ".")) or ".." in parts or "" in parts[:-1]:
            raise ValueError(f"not an object key: {key!r}")
        return self.root / key

    def _write(self, target: Path, write: Callable[[IO[bytes]], None]) -> None:
        """Write aside, then rename: readers see the old object or the new one."""
        incoming = self.root / INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        temporary = incoming / uuid.uuid4().hex
        try:
            with temporary.open("wb") as handle:
                write(handle)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)

    # --- objects ---------------------------------------------------------------
    def object_put(self, path: Path, key: str) -> None:
        with path.open("rb") as source:
            self._write(self.path(key), lambda handle: shutil.copyfileobj(source, handle))

    def object_stream_put(self, stream: Readable, key: str, max_bytes: int) -> int:
        """Store what a client sends (``views.py``); refuses more than ``max_bytes``."""
        written: list[int] = []
        self._write(
            self.path(key), lambda handle: written.append(_copy_at_most(stream, handle, max_bytes))
        )
        return written[0]

    def object_bytes_put(self, data: bytes, key: str, content_type: str) -> None:
        def write(handle: IO[bytes]) -> None:
            handle.write(data)

        self._write(self.path(key), write)

    def object_get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def object_size(self, key: str) -> int | None:
        path = self.path(key)
        return path.stat().st_size if path.is_file() else None

    def object_download(self, key: str, destination: Path) -> None:
        shutil.copyfile(self.path(key), destination)

    def object_delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def objects_listed(self, prefix: str) -> list[dict[str, Any]]:
        base = self.root / prefix.rpartition("/")[0]
        if not base.is_dir():
            return []
        listed = []
        for path in sorted(base.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            hidden = any(part.startswith(".") for part in key.split("/"))
            if not hidden and key.startswith(prefix) and path.is_file():
                size = path.stat().st_size
                listed.append({"Key": key, "Size": size, "LastModified": _modified(path)})
        return listed

    # --- URLs --------------------------------------------------------------------
    def presigned_get(self, key: str, seconds: int) -> str:
        return reverse("storage_object", args=[url_token("get", {"k": key}, seconds)])

    def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        policy = url_token("post", {"k": key, "t": content_type, "m": max_bytes}, expires_in)
        return {
            "url": reverse("storage_post"),
            "fields": {"key": key, "Content-Type": content_type, "policy": policy},
        }

    # --- multipart ---------------------------------------------------------------
    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.root / MULTIPART / upload_id

    def multipart_uploads(self) -> list[dict[str, Any]]:
        uploads = []
        for meta in sorted((self.root / MULTIPART).glob("*/meta.json")):
            try:
                described = json.loads(meta.read_text())
            except FileNotFoundError:  # joined or aborted since the glob
                continue
            uploads.append(
                {
                    "Key": described["key"],
                    "UploadId": meta.parent.name,
                    "Initiated": datetime.fromisoformat(described["initiated"]),
                }
            )
        return uploads

    def multipart_create(self, key: str, *, content_type: str) -> str:
        self.path(key)  # a valid key, or refuse now
        upload_id = uuid.uuid4().hex
        directory = self._upload_dir(upload_id)
        directory.mkdir(parents=True)
        described = {"key": key, "content_type": content_type, "initiated": datetime.now(UTC)}
        (directory / "meta.json").write_text(json.dumps(described, default=str))
        return upload_id

    def multipart_part_url(self, key: str, upload_id: str, number: int, seconds: int) -> str:
        token = url_token("part", {"k": key, "u": upload_id, "n": number}, seconds)
        return reverse("storage_part", args=[token])

    def part_stream_put(self, upload_id: str, number: int, stream: Readable, max_bytes: int) -> int:
        """Store one part a client sends (``views.py``): ``FileNotFoundError``
        when the upload was joined or aborted meanwhile."""
        directory = self._upload_dir(upload_id)
        if not directory.is_dir():
            raise FileNotFoundError(f"no multipart upload {upload_id}")
        temporary = directory / f".{number}.{uuid.uuid4().hex}"
        try:
            with temporary.open("wb") as handle:
                written = _copy_at_most(stream, handle, max_bytes)
            # A part sent twice (a retry after a lost answer) replaces the first.
            os.replace(temporary, directory / f"{number}.part")
        finally:
            temporary.unlink(missing_ok=True)
        return written

    def multipart_parts(self, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        parts: dict[int, dict[str, Any]] = {}
        for path in self._upload_dir(upload_id).glob("*.part"):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            number = int(path.stem)
            parts[number] = {"PartNumber": number, "Size": size, "ETag": f'"{number}-{size}"'}
        return parts

    def multipart_complete(
        self, key: str, upload_id: str, parts: dict[int, dict[str, Any]]
    ) -> None:
        # Take the upload away first (a rename is atomic): of two racing
        # completions one joins, the other finds the object already there.
        directory = self._upload_dir(upload_id)
        joining = directory.with_name(f"{upload_id}.joining")
        try:
            os.rename(directory, joining)
        except FileNotFoundError:
            if self.object_size(key) is None:
                raise
            return

        def join(handle: IO[bytes]) -> None:
            for number in sorted(parts):
                with (joining / f"{number}.part").open("rb") as part:
                    shutil.copyfileobj(part, handle, COPY_CHUNK)

        try:
            self._write(self.path(key), join)
        finally:
            shutil.rmtree(joining, ignore_errors=True)

    def multipart_abort(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)
