"""Writes for the video pipeline: what the admin, the API and tasks call.

The upload endpoints (issue #4, next session) call ``asset_create`` with the
stored source, then ``asset_submit``; editors' buttons call ``asset_retry``
and ``asset_cancel``; beat runs ``asset_sweep``. Reads live in selectors.py.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from media_pipeline.errors import MediaRefused
from media_pipeline.models import AssetStatus, MediaAsset, OutboxMessage, source_key
from media_pipeline.outbox import outbox_enqueue
from media_pipeline.states import ACTIVE, asset_requeue, asset_transition
from media_pipeline.validation import display_filename

logger = logging.getLogger(__name__)

TRANSCODE_TASK = "media_pipeline.tasks.asset_transcode_task"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def asset_create(*, institution_id: int, path: Path, original_filename: str) -> MediaAsset:
    """Store a source file under its content hash; the same bytes twice are one asset."""
    sha256 = file_sha256(path)
    existing = MediaAsset.objects.filter(sha256=sha256).first()
    if existing is not None:
        if existing.institution_id != institution_id:
            # One row per content hash (unique); never hand another college's
            # asset to this one.
            raise MediaRefused(
                "duplicate", "This exact video is already in another institution's library."
            )
        return existing
    asset = MediaAsset(
        institution_id=institution_id,
        original_filename=display_filename(original_filename),
        sha256=sha256,
        container="upload",  # replaced by the probed demuxer
        size_bytes=path.stat().st_size,
    )
    key = source_key(asset, original_filename)
    if default_storage.exists(key):  # bytes left by a rolled-back attempt: the same content
        asset.source.name = key
    else:
        with path.open("rb") as handle:
            asset.source.save("source", File(handle), save=False)
    asset.save()
    return asset


def asset_submit(asset: MediaAsset) -> bool:
    """Queue a stored asset for transcoding; the task is published on commit."""
    with transaction.atomic():
        moved = asset_transition(
            asset.pk,
            to=AssetStatus.QUEUED,
            expected=[AssetStatus.PENDING],
            queued_at=timezone.now(),
        )
        if moved:
            outbox_enqueue(TRANSCODE_TASK, [asset.pk])
    return moved


def asset_retry(asset: MediaAsset) -> bool:
    """An editor's retry of a failed asset: a fresh attempt budget; renditions
    already stored are kept and skipped."""
    with transaction.atomic():
        moved = asset_requeue(asset.pk, expected=[AssetStatus.FAILED], code="retry")
        if moved:
            MediaAsset.objects.filter(pk=asset.pk).update(attempts=0)
            outbox_enqueue(TRANSCODE_TASK, [asset.pk])
    return moved


def asset_cancel(asset: MediaAsset) -> bool:
    """Stop a queued or running job. A running execution notices at its next
    heartbeat (lease gone), kills ffmpeg and leaves without touching the row."""
    return asset_transition(
        asset.pk,
        to=AssetStatus.FAILED,
        expected=[AssetStatus.QUEUED, *ACTIVE],
        code="cancelled",
        message="Cancelled by an editor.",
    )


def _queued_republish() -> int:
    """Publish once more for assets queued longer than the broker's
    visibility timeout whose last message is that old too.

    A message Redis accepted and then lost in a machine crash (AOF
    ``everysec`` may lose 1 s) is marked sent, so the outbox relay never
    sends it again and the asset would wait in "queued" forever
    (tests/media_pipeline/test_worker_faults.py C13 shows a killed Redis
    process loses nothing). Any message still in the queue would have been
    restored and run by then; a duplicate is a no-op for the claim.
    """
    stale = timezone.now() - timedelta(seconds=settings.MEDIA_QUEUED_REPUBLISH_AFTER_SECONDS)
    republished = 0
    waiting = MediaAsset.objects.filter(status=AssetStatus.QUEUED, queued_at__lt=stale)
    for asset_id in waiting.values_list("pk", flat=True):
        recent = OutboxMessage.objects.filter(
            task_name=TRANSCODE_TASK, args=[asset_id], created_at__gte=stale
        )
        if recent.exists():
            continue
        with transaction.atomic():
            outbox_enqueue(TRANSCODE_TASK, [asset_id])
        republished += 1
        logger.warning("sweeper: asset %s queued since before %s, published again", asset_id, stale)
    return republished


def asset_sweep(*, stuck_after_seconds: float | None = None) -> dict[str, int]:
    """Repair jobs whose worker vanished without a trace (RELIABILITY.md C15).

    An active asset with no heartbeat for longer than the threshold goes back
    to the queue if it has attempts left, else fails; both are logged at
    WARNING for alerting. Returns counts.
    """
    threshold = stuck_after_seconds or settings.MEDIA_SWEEP_STUCK_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=threshold)
    counts = {"requeued": 0, "failed": 0, "republished": _queued_republish()}
    stuck = MediaAsset.objects.filter(status__in=ACTIVE, heartbeat_at__lt=cutoff)
    for asset_id, status, attempts in stuck.values_list("pk", "status", "attempts"):
        with transaction.atomic():
            if attempts < settings.MEDIA_MAX_ATTEMPTS:
                if asset_requeue(asset_id, expected=[status], code="swept"):
                    outbox_enqueue(TRANSCODE_TASK, [asset_id])
                    counts["requeued"] += 1
                    logger.warning("sweeper: asset %s stuck in %s, requeued", asset_id, status)
            elif asset_transition(
                asset_id,
                to=AssetStatus.FAILED,
                expected=[status],
                code="stuck",
                message=f"No progress for {threshold:.0f} s after {attempts} attempts.",
            ):
                counts["failed"] += 1
                logger.warning("sweeper: asset %s stuck in %s, failed", asset_id, status)
    return counts
