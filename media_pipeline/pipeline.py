"""One execution of the pipeline for one asset: probe → transcode → upload.

Called by the Celery task with a lease holder id. Each step is guarded by the
state machine (media_pipeline/states.py); output keys are deterministic
(``media/<asset>/<source sha256>/<rendition>/…``) so a re-run overwrites the
same objects instead of leaving a second copy, and the master playlist is
uploaded last, so nobody can see a master whose segments are missing.
"""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.storage import default_storage

from media_pipeline import hls, ladder, storage
from media_pipeline.errors import MediaError, MediaRefused
from media_pipeline.limits import MediaLimits, media_limits
from media_pipeline.models import AssetStatus, MediaAsset, Rendition, RenditionStatus
from media_pipeline.runner import workspace
from media_pipeline.states import (
    Claim,
    LeaseLost,
    asset_claim,
    asset_heartbeat,
    asset_release,
    asset_transition,
)
from media_pipeline.transcode import ladder_transcode
from media_pipeline.validation import SourceProbe, source_validate

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0  # progress/heartbeat writes at most this often
COPY_CHUNK = 8 * 1024 * 1024


def hls_prefix(asset: MediaAsset) -> str:
    return f"media/{asset.pk}/{asset.sha256}/"


def source_fetch(asset: MediaAsset, destination: Path) -> None:
    """The source's bytes into the workspace under a name we chose (M12)."""
    with (
        default_storage.open(str(asset.source.name), "rb") as remote,
        destination.open("wb") as local,
    ):
        shutil.copyfileobj(remote, local, COPY_CHUNK)


def _probe_record(asset_id: int, probe: SourceProbe) -> None:
    MediaAsset.objects.filter(pk=asset_id).update(
        duration_seconds=probe.duration_seconds,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        has_audio=probe.has_audio,
        container=probe.demuxer,
    )


def _renditions_plan(
    asset: MediaAsset, probe: SourceProbe, profile: ladder.LadderProfile
) -> list[ladder.PlannedRendition]:
    """The ladder for this source, minus renditions a previous attempt stored."""
    plan = ladder.ladder_plan(profile, probe)
    for rendition in plan:
        Rendition.objects.get_or_create(
            asset=asset,
            name=rendition.name,
            defaults={"kind": rendition.kind, "width": rendition.width, "height": rendition.height},
        )
    stored = set(
        asset.renditions.filter(status=RenditionStatus.UPLOADED).values_list("name", flat=True)
    )
    return [rendition for rendition in plan if rendition.name not in stored]


class SegmentUploader:
    """Uploads finished segments while ffmpeg is still writing later ones, so
    the upload mostly overlaps the transcode instead of following it.

    A segment is finished once a later one exists in its rendition directory
    (ffmpeg writes them in order); the last ones go up in ``finish`` after
    ffmpeg exited 0. Playlists are never uploaded here: a rendition playlist
    follows all of its segments, and the master follows everything.
    """

    def __init__(self, asset: MediaAsset, outdir: Path, plan: list[ladder.PlannedRendition]):
        self.prefix = hls_prefix(asset)
        self.directories = [outdir / rendition.name for rendition in plan]
        self.store = storage.store()
        self.pool = ThreadPoolExecutor(max_workers=storage.UPLOAD_THREADS)
        self.sent: set[Path] = set()
        self.futures: list[Future[None]] = []

    def _submit(self, segments: list[Path]) -> None:
        for segment in segments:
            if segment not in self.sent:
                self.sent.add(segment)
                key = f"{self.prefix}{segment.parent.name}/{segment.name}"
                self.futures.append(self.pool.submit(self.store.object_put, segment, key))

    def poll(self) -> None:
        for directory in self.directories:
            self._submit(sorted(directory.glob("seg_*.ts"))[:-1])

    def finish(self) -> None:
        """Upload what is left and wait; the first storage error is raised."""
        for directory in self.directories:
            self._submit(sorted(directory.glob("seg_*.ts")))
        for future in self.futures:
            future.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _rendition_upload(
    claim: Claim, asset: MediaAsset, planned: ladder.PlannedRendition, outdir: Path
) -> None:
    """Record a rendition whose segments SegmentUploader stored: its playlist
    goes up after them, then the row says "uploaded"."""
    directory = outdir / planned.name
    measured = hls.rendition_measure(directory, planned.kind)
    prefix = f"{hls_prefix(asset)}{planned.name}/"
    storage.store().object_put(directory / "index.m3u8", prefix + "index.m3u8")
    asset_heartbeat(claim)  # still ours? then record the rendition as stored
    Rendition.objects.filter(asset=asset, name=planned.name).update(
        status=RenditionStatus.UPLOADED,
        kind=planned.kind,
        width=planned.width,
        height=planned.height,
        bandwidth=measured.bandwidth,
        average_bandwidth=measured.average_bandwidth,
        codecs=measured.codecs,
        segment_count=len(measured.segments),
        duration_seconds=measured.duration_seconds,
        playlist_key=prefix + "index.m3u8",
    )


def _stills_upload(asset: MediaAsset, outdir: Path) -> int:
    prefix = hls_prefix(asset)
    thumbnails = sorted((outdir / "thumbnails").glob("*.jpg"))
    files = [(path, f"{prefix}thumbnails/{path.name}") for path in thumbnails]
    poster = outdir / "poster" / "poster.jpg"
    if poster.exists():
        files.append((poster, f"{prefix}poster.jpg"))
    storage.store().objects_put(files)
    return len(thumbnails)


def _master_publish(asset: MediaAsset) -> None:
    variants = [
        hls.VariantEntry(
            name=r.name,
            kind=r.kind,
            width=r.width,
            height=r.height,
            bandwidth=r.bandwidth,
            average_bandwidth=r.average_bandwidth,
            codecs=r.codecs,
        )
        for r in asset.renditions.filter(status=RenditionStatus.UPLOADED)
    ]
    storage.store().object_bytes_put(
        hls.master_playlist(variants).encode(),
        f"{hls_prefix(asset)}master.m3u8",
        "application/vnd.apple.mpegurl",
    )


def _advance(asset_id: int, holder: str, to: str, **fields: Any) -> None:
    """The next state, or stop: a refused move means the lease is gone."""
    if not asset_transition(asset_id, to=to, holder=holder, **fields):
        raise LeaseLost(f"asset {asset_id}: cannot move to {to}; no longer ours")


class _Progress:
    """Heartbeat + progress at most every HEARTBEAT_SECONDS from the poll loop."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.last = 0.0

    def __call__(self, percent: float, eta: float | None) -> None:
        now = time.monotonic()
        if now - self.last >= HEARTBEAT_SECONDS:
            self.last = now
            asset_heartbeat(self.claim, progress_percent=percent, eta_seconds=eta)


def asset_process(
    asset_id: int,
    *,
    holder: str,
    limits: MediaLimits | None = None,
    profile: ladder.LadderProfile = ladder.DEFAULT_LADDER,
) -> Claim | None:
    """Run the pipeline once. Returns the claim, or None when this delivery had
    nothing to do (done, deleted, or another live execution holds it).

    MediaError ends the asset as failed with its code and message; storage
    errors propagate with the lease released so the task can retry with
    backoff; LeaseLost (cancelled, swept) ends quietly, ffmpeg already killed.
    """
    claim = asset_claim(asset_id, holder)
    if claim is None:
        logger.info("asset %s: nothing to do for this delivery", asset_id)
        return None
    limits = limits or media_limits()
    asset = MediaAsset.objects.get(pk=asset_id)
    try:
        with workspace() as work:
            source = work / "source"
            source_fetch(asset, source)
            probe = source_validate(source, limits)
            _probe_record(asset_id, probe)
            _advance(asset_id, holder, AssetStatus.TRANSCODING, ladder=profile.name)
            todo = _renditions_plan(asset, probe, profile)
            outdir = work / "out"
            uploader = SegmentUploader(asset, outdir, todo)
            try:
                ladder_transcode(
                    source=source,
                    probe=probe,
                    plan=todo,
                    profile=profile,
                    limits=limits,
                    outdir=outdir,
                    on_progress=_Progress(claim),
                    on_poll=uploader.poll,
                    # Stills are cheap next to the ladder; always redo them with it.
                    with_stills=True,
                )
                _advance(asset_id, holder, AssetStatus.UPLOADING, progress_percent=100)
                uploader.finish()
            finally:
                uploader.close()
            for planned in todo:
                _rendition_upload(claim, asset, planned, outdir)
            thumbnail_count = _stills_upload(asset, outdir)
            asset_heartbeat(claim)
            _master_publish(asset)  # last: the commit point readers see
            _advance(
                asset_id,
                holder,
                AssetStatus.READY,
                hls_prefix=hls_prefix(asset),
                thumbnail_count=thumbnail_count,
            )
    except LeaseLost:
        logger.info("asset %s: lease lost (cancelled or taken over); stopping", asset_id)
    except storage.TRANSIENT_ERRORS:
        # Let the next delivery claim it afresh (not as a lost worker); the
        # task retries with backoff. Nothing half-uploaded is visible: no master.
        asset_release(claim)
        raise
    except SoftTimeLimitExceeded:
        # ffmpeg's process group is already dead (runner.run's finally) and
        # the workspace removed; record why (RELIABILITY.md C10).
        asset_transition(
            asset_id,
            to=AssetStatus.FAILED,
            holder=holder,
            code="timeout",
            message="Processing took longer than the time limit.",
        )
    except MediaError as error:
        asset_transition(
            asset_id,
            to=AssetStatus.FAILED,
            holder=holder,
            code=error.code,
            message=error.message,
        )
        if not isinstance(error, MediaRefused):
            logger.warning("asset %s failed: %s", asset_id, error)
    return claim
