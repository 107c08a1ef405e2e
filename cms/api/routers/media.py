"""Media of published resources: the manifest, HLS playlists and the poster.

The bucket is private (RELIABILITY.md U13). Learners get stable URLs on this
API; each answer signs what it points to for a short while: playlists list
presigned segment URLs, the poster redirects to a presigned GET. Only assets
that a published resource uses are served; anything else is a 404.
"""

from __future__ import annotations

import logging
from typing import Annotated

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from ninja import Path, Router
from pydantic import StringConstraints

from cms import selectors
from cms.api import presenters
from cms.api.http import PRIVATE_CACHE_CONTROL, body_response, etag_for, json_response
from cms.api.inputs import ObjectId
from cms.api.problems import ApiProblem
from cms.api.schemas import MediaManifest, Problem
from media_pipeline import storage
from media_pipeline.models import MediaAsset
from media_pipeline.selectors import asset_is_playable, asset_progress, playlist_signed

logger = logging.getLogger(__name__)
router = Router(tags=["media"])

HLS_CONTENT_TYPE = "application/vnd.apple.mpegurl"
# Signed URLs inside live for MEDIA_PLAYBACK_URL_SECONDS (an hour); a player
# may keep the playlist itself for a minute.
PLAYLIST_CACHE_CONTROL = "private, max-age=60"
RenditionName = Annotated[str, StringConstraints(pattern=r"^(audio|[0-9]{3,4}p)$")]
PLAYLIST = {
    "responses": {
        "200": {
            "description": "An HLS playlist with signed URLs.",
            "content": {HLS_CONTENT_TYPE: {"schema": {"type": "string"}}},
        }
    }
}
PLAYBACK_ERRORS = {304: None, 400: Problem, 401: Problem, 404: Problem, 429: Problem, 503: Problem}


def _playable(asset_id: int) -> MediaAsset:
    asset = selectors.media_asset_public(asset_id=asset_id)
    if asset is None or not asset_is_playable(asset):
        raise ApiProblem(404, "Not found", f"No playable media {asset_id}.")
    return asset


def _storage_unavailable(error: BaseException, asset_id: int) -> ApiProblem:
    logger.error("media %s: object storage failed: %s", asset_id, error)
    return ApiProblem(
        503,
        "Media storage unavailable",
        "Try again in a moment.",
        kind="storage-unavailable",
        headers={"Retry-After": "5"},
    )


def _playlist_response(request: HttpRequest, text: str) -> HttpResponse:
    body = text.encode()
    return body_response(
        request,
        body,
        etag_for(body),
        cache_control=PLAYLIST_CACHE_CONTROL,
        content_type=HLS_CONTENT_TYPE,
    )


@router.get(
    "/resources/{resource_id}/media",
    response={200: MediaManifest, **PLAYBACK_ERRORS},
    operation_id="resource_media",
)
def resource_media(request: HttpRequest, resource_id: Path[ObjectId]) -> HttpResponse:
    """The media manifest of a published resource: HLS master URL, renditions,
    poster, duration, captions, and the pipeline's progress until it is ready."""
    resource = selectors.resource_get(resource_id=resource_id)
    if resource is None or resource.media_asset is None:
        raise ApiProblem(404, "Not found", f"No published resource {resource_id} with media.")
    asset = resource.media_asset
    progress = asset_progress(asset)
    manifest = presenters.media_out(asset, request) | {
        "resource_id": resource.pk,
        "progress": {
            "status_label": progress["status_label"],
            "progress_percent": progress["progress_percent"],
            "eta_seconds": progress["eta_seconds"],
            "queue_position": progress["queue_position"],
            "failure_message": progress["failure_message"],
        },
    }
    # Progress moves every few seconds while transcoding: never kept by caches.
    return json_response(request, manifest, cache_control=PRIVATE_CACHE_CONTROL)


@router.get(
    "/media/{asset_id}/master.m3u8",
    response=PLAYBACK_ERRORS,
    operation_id="media_master",
    url_name="media_master",
    openapi_extra=PLAYLIST,
)
def media_master(request: HttpRequest, asset_id: Path[ObjectId]) -> HttpResponse:
    """The HLS master playlist. Rendition URIs are relative: they resolve to
    this API's rendition playlists."""
    asset = _playable(asset_id)
    try:
        return _playlist_response(request, playlist_signed(asset))
    except storage.TRANSIENT_ERRORS as error:
        raise _storage_unavailable(error, asset_id) from error


@router.get(
    "/media/{asset_id}/{rendition}/index.m3u8",
    response=PLAYBACK_ERRORS,
    operation_id="media_rendition",
    url_name="media_rendition",
    openapi_extra=PLAYLIST,
)
def media_rendition(
    request: HttpRequest, asset_id: Path[ObjectId], rendition: Path[RenditionName]
) -> HttpResponse:
    """One rendition's playlist, each segment a presigned URL."""
    asset = _playable(asset_id)
    try:
        text = playlist_signed(asset, rendition)
    except ValueError as error:
        detail = f"No rendition {rendition} of media {asset_id}."
        raise ApiProblem(404, "Not found", detail) from error
    except storage.TRANSIENT_ERRORS as error:
        raise _storage_unavailable(error, asset_id) from error
    return _playlist_response(request, text)


@router.get(
    "/media/{asset_id}/poster.jpg",
    response={302: None, **PLAYBACK_ERRORS},
    operation_id="media_poster",
    url_name="media_poster",
)
def media_poster(request: HttpRequest, asset_id: Path[ObjectId]) -> HttpResponse:
    """Redirects to a short-lived signed URL of the poster image."""
    asset = _playable(asset_id)
    url = storage.store().presigned_get(f"{asset.hls_prefix}poster.jpg", 300)
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, max-age=60"
    return response
