"""Resumable uploads for files of several GB: an upload session in parts.

An ``UploadSession`` (``uploads.py``) names one key under ``uploads/``. Here
that key is written as an S3 multipart upload: the browser PUTs each part
straight to storage through a presigned URL, so video bytes never pass
through Django. What has arrived is asked of storage (ListParts), never
remembered by the client or by us, so a reload, a lost connection or another
device resumes with exactly the missing parts. Completing assembles the
object; ``uploads.upload_finalize`` then judges it like any other upload
(size, ffprobe validation, content hash), so both paths share one gate.

Storage remembers the multipart upload's id by key, so no column holds it.
An abandoned one is aborted by ``cleanup.storage_cleanup`` (MinIO accepts the
lifecycle rule's AbortIncompleteMultipartUpload but does not apply it).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from media_pipeline import storage
from media_pipeline.errors import MediaRefused
from media_pipeline.models import UploadSession, UploadStatus

PART_URL_SECONDS = 900
# Parts per request for URLs: a client asks again as it goes.
MAX_PART_URLS = 100


def part_bytes() -> int:
    # S3 parts are ≥ 5 MiB (all but the last) and ≤ 10,000 per upload.
    return int(settings.MEDIA_UPLOAD_PART_BYTES)


def part_count(session: UploadSession) -> int:
    return max(1, math.ceil(session.size_bytes / part_bytes()))


def _part_size(session: UploadSession, number: int) -> int:
    last = part_count(session)
    return part_bytes() if number < last else session.size_bytes - part_bytes() * (last - 1)


def _pending(session: UploadSession) -> None:
    if session.status != UploadStatus.PENDING:
        raise MediaRefused("upload_finalized", "This upload was already finalized.")


def parts_open(session: UploadSession) -> str:
    """Open the multipart upload when the session starts, so that clients
    asking for part URLs in parallel all find the same one."""
    return _upload_id(session)


def _upload_id(session: UploadSession) -> str:
    """The storage's multipart id for the session's key; opened again if the
    cleanup aborted an old one (its parts are gone: the client resends)."""
    found = storage.store().multipart_open(session.key)
    if found:
        return str(found[0]["UploadId"])
    return storage.store().multipart_create(session.key, content_type=session.content_type)


def _stored(session: UploadSession) -> tuple[str | None, dict[int, dict[str, Any]]]:
    """The open multipart upload's id and its whole parts (a short one, cut
    off mid-PUT, is left out: the client sends it again). One listing each."""
    found = storage.store().multipart_open(session.key)
    if not found:
        return None, {}
    upload_id = str(found[0]["UploadId"])
    whole = {
        number: part
        for number, part in storage.store().multipart_parts(session.key, upload_id).items()
        if number <= part_count(session) and part["Size"] == _part_size(session, number)
    }
    return upload_id, whole


def parts_done(session: UploadSession) -> list[int]:
    """Parts stored whole; the client sends the others."""
    return sorted(_stored(session)[1])


def part_urls(session: UploadSession, numbers: list[int]) -> dict[int, str]:
    """Presigned PUT URLs for these parts (1-based, at most ``MAX_PART_URLS``)."""
    _pending(session)
    count = part_count(session)
    if len(numbers) > MAX_PART_URLS or any(not 1 <= n <= count for n in numbers):
        raise MediaRefused(
            "bad_parts", f"Ask for at most {MAX_PART_URLS} parts numbered 1 to {count}."
        )
    upload_id = _upload_id(session)
    return {
        number: storage.store().multipart_part_url(session.key, upload_id, number, PART_URL_SECONDS)
        for number in numbers
    }


def parts_finish(session: UploadSession) -> None:
    """Join the parts into the session's object, ready for ``upload_finalize``.

    No parts at all means the file came as one POST: the multipart upload
    opened at start is aborted. No open upload means an earlier call already
    joined them (its answer was lost), or nothing was ever sent.
    """
    _pending(session)
    upload_id, whole = _stored(session)
    if upload_id is None:
        if storage.store().object_size(session.key) is None:
            raise MediaRefused("upload_missing", "Nothing was uploaded; start a new upload.")
        return
    if not whole:
        storage.store().multipart_abort(session.key, upload_id)
        return
    missing = sorted(set(range(1, part_count(session) + 1)) - set(whole))
    if missing:
        raise MediaRefused(
            "upload_incomplete",
            f"{len(missing)} of {part_count(session)} parts are missing (first: {missing[0]}).",
        )
    storage.store().multipart_complete(session.key, upload_id, whole)


def parts_state(session: UploadSession) -> dict[str, Any]:
    return {
        "part_bytes": part_bytes(),
        "part_count": part_count(session),
        "parts_done": parts_done(session),
    }
