"""Media of published resources through the API: the manifest, signed HLS
playlists and the poster, against real ffmpeg output in MinIO (issue #3 item
2, filled in by the video pipeline)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from cms.models import Resource, ResourceType
from media_pipeline import pipeline, services, states, storage
from media_pipeline.models import MediaAsset
from tests.media_pipeline import samples
from tests.media_pipeline.factories import asset_stored

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.lecture_clip(tmp_path_factory.mktemp("api-media") / "lecture.mp4", seconds=3)


@pytest.fixture
def asset(college_a, clip: Path) -> Iterator[MediaAsset]:
    asset = asset_stored(college_a.pk, clip)
    storage.store().objects_delete(pipeline.hls_prefix(asset))
    yield asset
    storage.store().objects_delete(pipeline.hls_prefix(asset))


@pytest.fixture
def ready_asset(asset: MediaAsset) -> MediaAsset:
    services.asset_submit(asset)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    asset.refresh_from_db()
    assert asset.status == "ready"
    return asset


def _video(make_resource, asset: MediaAsset, *, publish: bool = True) -> Resource:
    return make_resource(resource_type=ResourceType.VIDEO, media_asset=asset, publish=publish)


def _published_video_being_transcoded(make_resource, asset: MediaAsset) -> Resource:
    """A published video whose asset is (again) in the pipeline, e.g. a new
    ladder: publishing itself waits for a playable video."""
    resource = make_resource(resource_type=ResourceType.VIDEO)
    Resource.objects.filter(pk=resource.pk).update(media_asset=asset)
    return resource


def _fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.read()


def test_a_published_video_plays_through_signed_playlists(api, make_resource, ready_asset):
    resource = _video(make_resource, ready_asset)

    manifest = api.get(f"/api/v1/resources/{resource.pk}/media").json()

    assert manifest["status"] == "ready" and manifest["resource_id"] == resource.pk
    kinds = [rendition["kind"] for rendition in manifest["renditions"]]
    assert kinds.count("audio") == 1 and kinds.count("video") >= 1
    assert max(r["height"] for r in manifest["renditions"]) <= 180  # never upscaled
    master = api.get(manifest["hls_master_url"])
    assert master.status_code == 200
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    variant = next(
        line for line in master.content.decode().splitlines() if line.endswith("index.m3u8")
    )
    assert not variant.startswith("http")  # relative: resolves to this API
    playlist = api.get(manifest["hls_master_url"].rsplit("/", 1)[0] + "/" + variant)
    segments = [line for line in playlist.content.decode().splitlines() if line.startswith("http")]
    assert segments and all("X-Amz-Signature=" in url for url in segments)
    status, _, data = _fetch(segments[0])
    assert status == 200 and len(data) > 1000
    poster = api.get(manifest["poster_url"])
    assert poster.status_code == 302
    assert _fetch(poster["Location"])[1] == "image/jpeg"


def test_on_the_quick_starts_local_disk_a_video_plays_through_app_signed_urls(
    local_store, api, make_resource, college_a, clip
):
    asset = asset_stored(college_a.pk, clip)
    services.asset_submit(asset)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    resource = _video(make_resource, asset)

    manifest = api.get(f"/api/v1/resources/{resource.pk}/media").json()
    master = api.get(manifest["hls_master_url"]).content.decode()
    variant = next(line for line in master.splitlines() if line.endswith("index.m3u8"))
    playlist = api.get(manifest["hls_master_url"].rsplit("/", 1)[0] + "/" + variant)
    segments = [line for line in playlist.content.decode().splitlines() if line.startswith("/")]
    segment = api.get(segments[0])
    poster = api.get(manifest["poster_url"])

    assert manifest["status"] == "ready"
    assert len(segments) >= 1 and all(url.startswith("/storage/o/") for url in segments)
    assert (segment.status_code, segment["Content-Type"]) == (200, "video/mp2t")
    assert b"".join(segment.streaming_content)[:1] == b"\x47"  # an MPEG-TS sync byte
    assert api.get(poster["Location"])["Content-Type"] == "image/jpeg"
    assert api.get(segments[0][:-3] + "abc").status_code == 403  # a forged signature


def test_the_bucket_itself_stays_private(ready_asset):
    key = next(key for key in storage.store().object_keys(pipeline.hls_prefix(ready_asset)))
    unsigned = storage.store().presigned_get(key, 60).split("?", 1)[0]

    with pytest.raises(urllib.error.HTTPError) as refused:
        _fetch(unsigned)

    assert refused.value.code == 403


def test_an_unpublished_resources_media_is_not_served(api, make_resource, ready_asset):
    resource = _video(make_resource, ready_asset, publish=False)
    asset_id = ready_asset.pk

    assert api.get(f"/api/v1/resources/{resource.pk}/media").status_code == 404
    assert api.get(f"/api/v1/media/{asset_id}/master.m3u8").status_code == 404
    assert api.get(f"/api/v1/media/{asset_id}/poster.jpg").status_code == 404


def test_media_in_a_resource_has_stable_urls_so_its_etag_holds(
    api, make_resource, ready_asset, settings
):
    settings.WANXUE_API_RESPONSE_CACHE = False  # build the body twice
    resource = _video(make_resource, ready_asset)
    url = f"/api/v1/resources/{resource.pk}"

    first = api.get(url)
    second = api.get(url)

    media = first.json()["media"]
    assert media["hls_master_url"].endswith(f"/api/v1/media/{ready_asset.pk}/master.m3u8")
    assert second["ETag"] == first["ETag"]


def test_before_it_is_ready_the_manifest_shows_progress_and_no_urls(api, make_resource, asset):
    services.asset_submit(asset)
    resource = _published_video_being_transcoded(make_resource, asset)

    manifest = api.get(f"/api/v1/resources/{resource.pk}/media").json()

    assert manifest["status"] == "queued"
    assert manifest["progress"]["queue_position"] >= 1
    assert (manifest["hls_master_url"], manifest["poster_url"], manifest["renditions"]) == (
        None,
        None,
        [],
    )
    assert api.get(f"/api/v1/media/{asset.pk}/master.m3u8").status_code == 404


@pytest.mark.parametrize("rendition", ["../etc", "9999999p", "x"])
def test_a_malformed_rendition_name_is_400_not_a_lookup(api, rendition):
    assert api.get(f"/api/v1/media/1/{rendition}/index.m3u8").status_code in (400, 404)


def test_a_cached_resource_shows_its_video_ready_as_soon_as_it_is(api, make_resource, asset):
    services.asset_submit(asset)
    resource = _published_video_being_transcoded(make_resource, asset)
    url = f"/api/v1/resources/{resource.pk}"
    assert api.get(url).json()["media"]["status"] == "queued"  # now in the response cache

    pipeline.asset_process(asset.pk, holder=states.holder_new())

    media = api.get(url).json()["media"]
    assert media["status"] == "ready" and media["hls_master_url"]
