"""The admin's Media screens: state, progress, queue position, failure
reasons, retry and cancel (issue #4 item 5), scoped per college."""

from __future__ import annotations

import pytest

from media_pipeline import pipeline, services, states
from media_pipeline.models import AssetStatus, MediaAsset
from tests.media_pipeline import samples
from tests.media_pipeline.factories import asset_stored

pytestmark = pytest.mark.django_db


def _asset(institution, name: str, status: str = AssetStatus.PENDING, **fields) -> MediaAsset:
    return MediaAsset.objects.create(
        institution=institution,
        source=f"media/{institution.pk}/sources/{name}.mp4",
        original_filename=f"{name}.mp4",
        sha256=name.ljust(64, "0")[:64],
        container="mp4",
        status=status,
        **{"size_bytes": 1000, **fields},
    )


def _inspect(client, asset: MediaAsset):
    return client.get(f"/admin/media_assets/inspect/{asset.pk}/")


def test_editors_list_only_their_colleges_media(client_for, editor_a, college_a, college_b):
    _asset(college_a, "jia-lecture")
    _asset(college_b, "yi-lecture")

    body = client_for(editor_a).get("/admin/media_assets/").content.decode()

    assert "jia-lecture.mp4" in body
    assert "yi-lecture.mp4" not in body


def test_another_colleges_asset_is_404_for_inspect_retry_and_cancel(
    client_for, editor_a, editor_b, college_b
):
    asset = _asset(college_b, "yi-failed", AssetStatus.FAILED, failure_message="坏文件")
    assert _inspect(client_for(editor_b), asset).status_code == 200

    client = client_for(editor_a)

    response = _inspect(client, asset)
    assert response.status_code == 404 and "yi-failed" not in response.content.decode()
    assert client.post(f"/admin/media_assets/retry/{asset.pk}/").status_code == 404
    assert client.post(f"/admin/media_assets/cancel/{asset.pk}/").status_code == 404
    assert MediaAsset.objects.get(pk=asset.pk).status == AssetStatus.FAILED


def test_a_queued_asset_shows_its_place_in_the_queue_and_refreshes(client_for, editor_a, college_a):
    first = _asset(college_a, "first")
    second = _asset(college_a, "second")
    services.asset_submit(first)
    services.asset_submit(second)

    body = _inspect(client_for(editor_a), second).content.decode()

    assert "number 2 in the queue" in body
    assert 'http-equiv="refresh"' in body


def test_a_transcoding_asset_shows_progress_and_eta(client_for, editor_a, college_a):
    asset = _asset(college_a, "running")
    services.asset_submit(asset)
    claim = states.asset_claim(asset.pk, states.holder_new())
    assert claim is not None
    states.asset_transition(asset.pk, to=AssetStatus.TRANSCODING, expected=[AssetStatus.PROBING])
    MediaAsset.objects.filter(pk=asset.pk).update(progress_percent=42.4, eta_seconds=90)

    client = client_for(editor_a)
    body = _inspect(client, asset).content.decode()
    listing = client.get("/admin/media_assets/").content.decode()

    assert 'value="42"' in body and "about 90 s left" in body
    assert "42%, 1 min left" in listing


def test_a_failed_asset_shows_its_reason_and_retry_requeues_it(client_for, editor_a, college_a):
    asset = _asset(college_a, "broken")
    services.asset_submit(asset)
    services.asset_cancel(asset)
    client = client_for(editor_a)
    body = _inspect(client, asset).content.decode()
    assert "Cancelled by an editor." in body and ">Retry<" in body

    response = client.post(f"/admin/media_assets/retry/{asset.pk}/")

    assert response.status_code == 302
    assert MediaAsset.objects.get(pk=asset.pk).status == AssetStatus.QUEUED


def test_cancel_stops_a_queued_job_and_get_changes_nothing(client_for, editor_a, college_a):
    asset = _asset(college_a, "waiting")
    services.asset_submit(asset)
    client = client_for(editor_a)

    assert client.get(f"/admin/media_assets/cancel/{asset.pk}/").status_code == 405
    assert MediaAsset.objects.get(pk=asset.pk).status == AssetStatus.QUEUED
    client.post(f"/admin/media_assets/cancel/{asset.pk}/")

    assert MediaAsset.objects.get(pk=asset.pk).status == AssetStatus.FAILED


@pytest.mark.parametrize("path", ["new/", "edit/{pk}/", "delete/{pk}/"])
def test_nobody_edits_asset_rows_by_hand(client_for, editor_a, college_a, path):
    asset = _asset(college_a, "row")

    response = client_for(editor_a).get(f"/admin/media_assets/{path.format(pk=asset.pk)}")

    assert response.status_code in (302, 403)


def test_the_listing_links_each_asset_to_its_state_page(client_for, editor_a, college_a):
    asset = _asset(college_a, "linked")

    body = client_for(editor_a).get("/admin/media_assets/").content.decode()

    assert f"/admin/media_assets/inspect/{asset.pk}/" in body


def test_editors_get_the_resumable_upload_screen(client_for, editor_a):
    client = client_for(editor_a)

    listing = client.get("/admin/media_assets/").content.decode()
    page = client.get("/admin/media_assets/upload/")

    assert "/admin/media_assets/upload/" in listing
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-api="/api/v1/uploads"' in body and "cms/admin/media_upload.js" in body
    assert 'name="institution"' not in body  # one college: nothing to choose


def test_reviewers_do_not_upload(client_for, reviewer_a):
    client = client_for(reviewer_a)

    assert client.get("/admin/media_assets/upload/").status_code in (302, 403)
    assert "/admin/media_assets/upload/" not in client.get("/admin/media_assets/").content.decode()


@pytest.mark.services
def test_a_ready_video_plays_on_its_inspect_page_for_its_own_college_only(
    local_store, client_for, editor_a, editor_b, college_a, tmp_path
):
    clip = samples.lecture_clip(tmp_path / "lecture.mp4", seconds=2)
    asset = asset_stored(college_a.pk, clip)
    services.asset_submit(asset)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    client = client_for(editor_a)
    master_url = f"/admin/media_assets/preview/{asset.pk}/master.m3u8"

    page = _inspect(client, asset).content.decode()
    master = client.get(master_url)
    variant = next(line for line in master.content.decode().splitlines() if line.endswith(".m3u8"))
    playlist = client.get(master_url.rsplit("/", 1)[0] + "/" + variant).content.decode()
    segment = next(line for line in playlist.splitlines() if line.startswith("/storage/o/"))

    assert f'data-media-preview="{master_url}"' in page
    assert master["Content-Type"] == "application/vnd.apple.mpegurl"
    assert client.get(segment)["Content-Type"] == "video/mp2t"
    assert client.get(f"/admin/media_assets/preview/{asset.pk}/poster.jpg").status_code == 302
    other = client_for(editor_b)
    assert other.get(master_url).status_code == 404
    assert other.get(f"/admin/media_assets/preview/{asset.pk}/poster.jpg").status_code == 404


def test_a_video_not_yet_ready_has_no_player(client_for, editor_a, college_a):
    asset = _asset(college_a, "queued-one")
    services.asset_submit(asset)
    client = client_for(editor_a)

    assert "data-media-preview" not in _inspect(client, asset).content.decode()
    assert client.get(f"/admin/media_assets/preview/{asset.pk}/master.m3u8").status_code == 404


def test_the_upload_screen_shows_the_colleges_video_storage(client_for, editor_a, college_a):
    college_a.media_quota_gib = 40
    college_a.save(update_fields=["media_quota_gib"])
    _asset(college_a, "stored", size_bytes=3 * 1024**3)

    body = client_for(editor_a).get("/admin/media_assets/upload/").content.decode()

    assert f"{college_a.name}: 3.0 of 40 GiB of video storage used." in body
