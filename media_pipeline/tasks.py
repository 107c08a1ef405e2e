"""Celery tasks for the video pipeline: thin, load by id, call a service.

The transcode is routed to the ``transcode`` queue (CELERY_TASK_ROUTES), the
rest to ``default``. Run transcode workers with
``-Q transcode --prefetch-multiplier 1 -c <cores/2>``: a prefetched transcode
waits behind an hour-long one while aging toward the visibility timeout.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings

from media_pipeline import cleanup, outbox, pipeline, runner, services, storage, uploads
from media_pipeline.models import AssetStatus
from media_pipeline.states import ACTIVE, asset_transition, holder_new

logger = logging.getLogger(__name__)


class TranscodeTask(Task):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Retries exhausted (storage down for good) or a bug: never leave the
        asset looking busy. Media errors never get here: the pipeline records them."""
        asset_id = args[0] if args else kwargs.get("asset_id")
        transient = isinstance(exc, storage.TRANSIENT_ERRORS)
        asset_transition(
            asset_id,
            to=AssetStatus.FAILED,
            expected=[AssetStatus.QUEUED, *ACTIVE],
            code="storage" if transient else "internal",
            message=(
                "Storing the video failed repeatedly; try again later."
                if transient
                else f"Internal error ({type(exc).__name__}); the team has been alerted."
            ),
        )


# Both pipeline tasks: redelivered if their worker dies, retried with jittered
# backoff while storage is down (every countdown below the visibility timeout).
STORAGE_RETRYING: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": storage.TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": settings.MEDIA_RETRY_BACKOFF_MAX,
    "retry_jitter": True,
    "max_retries": settings.MEDIA_MAX_RETRIES,
}


@shared_task(
    bind=True,
    base=TranscodeTask,
    name=services.TRANSCODE_TASK,
    **STORAGE_RETRYING,
    soft_time_limit=settings.MEDIA_TRANSCODE_SOFT_TIME_LIMIT,
    time_limit=settings.MEDIA_TRANSCODE_TIME_LIMIT,
    track_started=True,
)
def asset_transcode_task(self: Task, asset_id: int) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    logger.info("asset %s: delivery (redelivered=%s)", asset_id, redelivered)
    pipeline.asset_process(asset_id, holder=holder_new())


class UploadFinalizeTask(Task):
    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Retries exhausted or a bug: the bytes are still stored, so the
        session goes back to pending and the client may complete it again."""
        session_id = args[0] if args else kwargs.get("session_id")
        transient = isinstance(exc, storage.TRANSIENT_ERRORS)
        uploads.upload_reopen(
            session_id,
            "Storage was unavailable while checking the video; complete the upload again."
            if transient
            else f"Checking the video failed ({type(exc).__name__}); complete the upload again.",
        )


@shared_task(
    bind=True,
    base=UploadFinalizeTask,
    name=uploads.FINALIZE_TASK,
    **STORAGE_RETRYING,
    soft_time_limit=settings.MEDIA_FINALIZE_SOFT_TIME_LIMIT,
    time_limit=settings.MEDIA_FINALIZE_TIME_LIMIT,
)
def upload_finalize_task(self: Task, session_id: str) -> int | None:
    """On the ``default`` queue, not behind hour-long transcodes: an editor
    learns within seconds per GiB that a file is refused. Its worker's temp
    directory needs room for the largest upload (MEDIA_MAX_SOURCE_BYTES)."""
    asset = uploads.upload_finalize(session_id)
    return asset.pk if asset else None


@shared_task(name="media_pipeline.tasks.outbox_relay_task", acks_late=True)
def outbox_relay_task() -> int:
    return outbox.outbox_relay()


@shared_task(name="media_pipeline.tasks.asset_sweep_task", acks_late=True)
def asset_sweep_task() -> dict[str, int]:
    counts = services.asset_sweep()
    # Only this host's temp dir: a worker killed with -9 cannot clean its own
    # workspace. Hosts without a default-queue worker need their own schedule
    # (docs/media_pipeline.md, "Where to pick up").
    counts["workspaces_removed"] = runner.workspaces_stale_remove(
        settings.MEDIA_TRANSCODE_TIME_LIMIT + 600
    )
    return counts


@shared_task(name="media_pipeline.tasks.storage_cleanup_task", acks_late=True)
def storage_cleanup_task() -> dict[str, int]:
    # Reports only, until operators set MEDIA_CLEANUP_DELETE=1 after reading
    # a few dry-run reports (the WARNING log line carries the counts).
    return cleanup.storage_cleanup(dry_run=not settings.MEDIA_CLEANUP_DELETE).counts()


@worker_ready.connect
def workspaces_clean_at_start(**kwargs: Any) -> int:
    """A worker killed with -9 leaves its workspace behind; clean this host's
    old ones whenever a worker starts (transcode-only hosts never run the sweeper)."""
    return runner.workspaces_stale_remove(settings.MEDIA_TRANSCODE_TIME_LIMIT + 600)
