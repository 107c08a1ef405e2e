"""Reads for the admin progress screen and the API's media fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from media_pipeline import hls, storage
from media_pipeline.models import (
    FINALIZE_GRACE,
    AssetStatus,
    MediaAsset,
    RenditionStatus,
    UploadSession,
    UploadStatus,
)


def asset_queue_position(asset: MediaAsset) -> int | None:
    """1 for the next job to start; None when the asset is not waiting."""
    if asset.status != AssetStatus.QUEUED or asset.queued_at is None:
        return None
    ahead = MediaAsset.objects.filter(
        status=AssetStatus.QUEUED, queued_at__lt=asset.queued_at
    ).count()
    return ahead + 1


def institutions_media_bytes(institution_ids: list[int]) -> dict[int, int]:
    """What counts against each college's quota: its stored sources, and the
    uploads it has started and may still finalize (they reserve their size).
    Two grouped queries however many colleges (the upload screen lists all
    of them for a network admin)."""
    used = dict.fromkeys(institution_ids, 0)
    stored = MediaAsset.objects.filter(institution_id__in=institution_ids)
    reserved = UploadSession.objects.filter(
        institution_id__in=institution_ids,
        status__in=[UploadStatus.PENDING, UploadStatus.FINALIZING],
        expires_at__gt=timezone.now() - FINALIZE_GRACE,
    )
    for rows in (stored, reserved):
        totals = rows.values("institution_id").annotate(total=Sum("size_bytes"))
        for row in totals.values_list("institution_id", "total"):
            used[row[0]] += int(row[1] or 0)
    return used


def institution_media_bytes(institution_id: int) -> int:
    return institutions_media_bytes([institution_id])[institution_id]


def asset_is_playable(asset: MediaAsset) -> bool:
    """The publish guard for resources: the whole ladder is stored before an
    asset becomes ready (the master is the commit point), so "ready" is the
    minimal ladder today."""
    return asset.status == AssetStatus.READY and bool(asset.hls_prefix)


def asset_progress(asset: MediaAsset) -> dict[str, Any]:
    """What an editor sees: status, reason, %, ETA, place in the queue."""
    return {
        "status": asset.status,
        "status_label": AssetStatus(asset.status).label,
        "failure_code": asset.failure_code or None,
        "failure_message": asset.failure_message or None,
        "progress_percent": asset.progress_percent,
        "eta_seconds": asset.eta_seconds,
        "queue_position": asset_queue_position(asset),
        "attempts": asset.attempts,
        "renditions": [
            {"name": r.name, "kind": r.kind, "status": r.status, "height": r.height}
            for r in asset.renditions.order_by("kind", "height")
        ],
    }


def playlist_signed(
    asset: MediaAsset,
    rendition: str | None = None,
    *,
    rendition_url: Callable[[str], str] | None = None,
    seconds: int | None = None,
) -> str:
    """A playlist with short-lived signed URLs (the bucket stays private, U13).

    ``rendition=None`` returns the master, its rendition URIs mapped through
    ``rendition_url(name)`` (the app's own playlist endpoint, which calls this
    again per rendition). A rendition playlist gets a presigned GET per segment.
    """
    if not asset_is_playable(asset):
        raise ValueError(f"asset {asset.pk} is not ready")
    seconds = seconds or settings.MEDIA_PLAYBACK_URL_SECONDS
    if rendition is None:
        text = storage.store().object_get(f"{asset.hls_prefix}master.m3u8").decode()
        mapper = rendition_url or (lambda name: f"{name}/index.m3u8")
        lines = []
        for line in text.splitlines():
            if line.endswith("/index.m3u8") and not line.startswith("#"):
                line = mapper(line.split("/", 1)[0])
            elif 'URI="' in line:
                name = line.split('URI="', 1)[1].split("/", 1)[0]
                line = line.replace(f'URI="{name}/index.m3u8"', f'URI="{mapper(name)}"')
            lines.append(line)
        return "\n".join(lines) + "\n"
    stored = asset.renditions.filter(name=rendition, status=RenditionStatus.UPLOADED).first()
    if stored is None:
        raise ValueError(f"asset {asset.pk} has no stored rendition {rendition!r}")
    text = storage.store().object_get(stored.playlist_key).decode()
    prefix = stored.playlist_key.rsplit("/", 1)[0] + "/"
    segments = {name for _, name in hls.segment_entries(text)}
    return (
        "\n".join(
            storage.store().presigned_get(prefix + line, seconds) if line in segments else line
            for line in text.splitlines()
        )
        + "\n"
    )
