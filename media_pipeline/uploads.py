"""Direct-to-storage uploads: a presigned POST per attempt, then finalize.

Video bytes never pass through Django (settings: DATA_UPLOAD_MAX_MEMORY_SIZE).
The POST policy pins the exact key, the Content-Type and a size range, and
expires (RELIABILITY.md U1–U3). Finalize (U4, U5) refuses a missing or
wrong-sized object, runs the same ``source_validate`` as the task, so the
uploader gets the reason at once, then stores the bytes under their content
hash and queues the asset. The admin's resumable upload and the API's
endpoints (next session) both call these two functions (U15).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.errors import MediaRefused
from media_pipeline.limits import media_limits
from media_pipeline.models import FINALIZE_GRACE, MediaAsset, UploadSession, UploadStatus
from media_pipeline.outbox import outbox_enqueue
from media_pipeline.runner import workspace
from media_pipeline.selectors import institution_media_bytes
from media_pipeline.services import asset_create, asset_submit
from media_pipeline.validation import display_filename, source_validate

UPLOAD_URL_SECONDS = 900
FINALIZE_TASK = "media_pipeline.tasks.upload_finalize_task"
# What clients may declare; the probe decides what the bytes really are.
DECLARED_TYPES = frozenset({"video/mp4", "video/quicktime", "video/x-matroska", "video/webm"})


def _gib(size_bytes: int) -> str:
    return f"{size_bytes / 1024**3:.2f} GiB"


@dataclass(frozen=True)
class UploadTicket:
    session: UploadSession
    url: str
    fields: dict[str, str]


def upload_session_create(
    *,
    institution_id: int,
    filename: str,
    size_bytes: int,
    content_type: str,
    quota_bytes: int,
    expires_in: int = UPLOAD_URL_SECONDS,
) -> UploadTicket:
    """Open an upload for ``institution_id``, or refuse it before any URL is
    issued: size, type and the college's storage quota (U11)."""
    limits = media_limits()
    if size_bytes <= 0:
        raise MediaRefused("empty", "The file is empty.")
    if size_bytes > limits.max_source_bytes:
        raise MediaRefused(
            "too_large", f"The file is larger than {limits.max_source_bytes // 1024**2} MiB."
        )
    if content_type not in DECLARED_TYPES:
        raise MediaRefused("unsupported_type", "Upload an MP4/MOV, Matroska or WebM video.")
    used = institution_media_bytes(institution_id)
    if used + size_bytes > quota_bytes:
        raise MediaRefused(
            "quota_exceeded",
            f"Over your college's video storage quota: {_gib(used)} used of "
            f"{_gib(quota_bytes)}, and this file needs {_gib(size_bytes)}. Delete unused "
            "videos or ask the network administrators for a larger quota.",
        )
    session_id = uuid.uuid4()
    session = UploadSession.objects.create(
        id=session_id,
        institution_id=institution_id,
        key=f"uploads/{session_id}",  # never the filename (M12)
        original_filename=display_filename(filename),
        size_bytes=size_bytes,
        content_type=content_type,
        expires_at=timezone.now() + timedelta(seconds=expires_in),
    )
    post: dict[str, Any] = storage.store().presigned_post(
        session.key,
        content_type=content_type,
        max_bytes=size_bytes,
        expires_in=expires_in,
    )
    return UploadTicket(session=session, url=post["url"], fields=post["fields"])


def upload_complete(*, session_id: uuid.UUID | str, institution_id: int) -> UploadSession:
    """The client says its bytes are stored: check what is cheap now (the
    object is there with the announced size) and queue ``upload_finalize``.

    Finalizing downloads, validates, hashes and stores the file again: about
    10 s per GiB on MinIO (measured: download 5.6 s, sha256 1.0 s, upload
    3.3 s per GiB), far beyond a request's time for a multi-GB lecture, so a
    worker does it and the client polls the session. Idempotent: a repeated
    call (its answer was lost) returns the session as it stands.
    """
    session = UploadSession.objects.filter(pk=session_id).first()
    # Another institution's session looks exactly like a missing one (U12).
    if session is None or session.institution_id != institution_id:
        raise PermissionDenied("no such upload")
    if session.status != UploadStatus.PENDING:
        return session
    if timezone.now() > session.expires_at + FINALIZE_GRACE:
        raise MediaRefused("upload_expired", "The upload expired; start a new one.")
    stored_size = storage.store().object_size(session.key)
    if stored_size is None:
        raise MediaRefused("upload_missing", "Nothing was uploaded; start a new upload.")
    if stored_size != session.size_bytes:
        raise MediaRefused(
            "upload_size",
            f"The upload has {stored_size} bytes, not the {session.size_bytes} announced.",
        )
    with transaction.atomic():
        # A status CAS: of two racing calls, one queues the work.
        moved = UploadSession.objects.filter(pk=session.pk, status=UploadStatus.PENDING).update(
            status=UploadStatus.FINALIZING, failure_code="", failure_message=""
        )
        if moved:
            outbox_enqueue(FINALIZE_TASK, [str(session.pk)])
    session.refresh_from_db()
    return session


def upload_finalize(session_id: uuid.UUID | str) -> MediaAsset | None:
    """The worker's half: turn a completed upload into a queued asset, or
    record why it was refused. None when there is nothing (more) to do."""
    session = UploadSession.objects.filter(pk=session_id).first()
    if session is None or session.status != UploadStatus.FINALIZING:
        return None  # finalized or refused already (a redelivered message), or gone
    try:
        with workspace() as work:
            source = work / "source"
            storage.store().object_download(session.key, source)
            source_validate(source, media_limits())  # the task's own validation (U15)
            with transaction.atomic():
                # Lock the session: two deliveries of the message race to one asset.
                locked = UploadSession.objects.select_for_update().get(pk=session.pk)
                if locked.status != UploadStatus.FINALIZING:
                    return None
                asset = asset_create(
                    institution_id=session.institution_id,
                    path=source,
                    original_filename=session.original_filename,
                )
                locked.status = UploadStatus.FINALIZED
                locked.asset = asset
                locked.save(update_fields=["status", "asset"])
                asset_submit(asset)
    except MediaRefused as refused:
        UploadSession.objects.filter(pk=session.pk, status=UploadStatus.FINALIZING).update(
            status=UploadStatus.REFUSED,
            failure_code=refused.code,
            failure_message=refused.message,
        )
        storage.store().object_delete(session.key)  # nothing in it is wanted
        return None
    # The per-attempt object is no longer needed; a re-used POST can only
    # write here again, never over the hash-named source (U4).
    storage.store().object_delete(session.key)
    asset.refresh_from_db()  # asset_submit moved it with an UPDATE
    return asset


def upload_reopen(session_id: uuid.UUID | str, message: str) -> bool:
    """Finalizing gave up (storage down past every retry): the bytes are
    still stored, so the client may complete again later."""
    return bool(
        UploadSession.objects.filter(pk=session_id, status=UploadStatus.FINALIZING).update(
            status=UploadStatus.PENDING, failure_code="storage", failure_message=message
        )
    )
