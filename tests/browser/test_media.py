"""A real browser uploads a lecture through the admin and plays the result:
the resumable upload screen, then hls.js on the ladder the pipeline wrote
(issue #4 items 1 and 7)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cms import services
from cms.models import ResourceType
from media_pipeline import multipart, pipeline, states, uploads
from media_pipeline import services as media_services
from media_pipeline.models import AssetStatus, MediaAsset, UploadSession, UploadStatus
from tests.browser.conftest import HLS_JS, UPLOAD_PART_BYTES, log_in
from tests.media_pipeline import samples
from tests.media_pipeline.worker import wait_until

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def noisy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~6 MB for 4 s (noise does not compress): two 5 MiB parts."""
    path = samples.noise_clip(tmp_path_factory.mktemp("browser") / "第二讲.mp4")
    assert path.stat().st_size > 5 * 1024**2
    return path


def _upload(page, base: str, clip: Path, college, django_db_blocker) -> None:
    page.goto(f"{base}/admin/media_assets/upload/")
    page.set_input_files("#upload-file", str(clip))
    page.click("form[data-media-upload] button[type=submit]")
    _worker_finalizes(college, django_db_blocker)
    page.wait_for_url("**/admin/media_assets/inspect/*/", timeout=60_000)


def _worker_finalizes(college, django_db_blocker) -> None:
    """The default-queue worker's part, done here: once the page has
    completed the upload, check the video and queue its transcode (the page
    polls meanwhile)."""
    with django_db_blocker.unblock():
        session = wait_until(
            lambda: UploadSession.objects.filter(
                institution=college, status=UploadStatus.FINALIZING
            ).first(),
            60,
            what="the page to complete the upload",
        )
        uploads.upload_finalize(session.pk)


def test_an_editor_uploads_a_video_in_parts_and_sees_it_queued(
    page, app_server, college, editor, noisy_clip, django_db_blocker
):
    log_in(page, app_server, "browser_editor")
    _upload(page, app_server, noisy_clip, college, django_db_blocker)

    with django_db_blocker.unblock():
        asset = MediaAsset.objects.get(institution=college)
    assert (asset.status, asset.size_bytes) == (AssetStatus.QUEUED, noisy_clip.stat().st_size)
    assert asset.original_filename == "第二讲.mp4"
    assert "number" in page.text_content("[data-media-status]")  # its place in the queue


def _part_number(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["partNumber"][0])


def _parts_done(college) -> list[int]:
    session = UploadSession.objects.filter(institution=college).first()
    return multipart.parts_done(session) if session else []


def test_an_interrupted_upload_resumes_by_sending_only_the_missing_part(
    page, app_server, college, editor, noisy_clip, django_db_blocker, settings
):
    settings.MEDIA_UPLOAD_PART_BYTES = UPLOAD_PART_BYTES  # as the server has it
    log_in(page, app_server, "browser_editor")
    page.goto(f"{app_server}/admin/media_assets/upload/")

    # The connection dies during the upload: part 1 arrives, part 2 never does.
    def part_one_only(route) -> None:
        if _part_number(route.request.url) == 1:
            route.continue_()
        else:
            route.abort("connectionreset")

    page.route(lambda url: "uploadId=" in url, part_one_only)
    page.set_input_files("#upload-file", str(noisy_clip))
    stored = lambda response: response.request.method == "PUT" and response.status == 200  # noqa: E731
    with page.expect_response(stored, timeout=60_000):
        page.click("form[data-media-upload] button[type=submit]")
    with django_db_blocker.unblock():
        assert _parts_done(college) == [1]

    # The editor comes back later (a reload), picks the same file again.
    page.unroute_all(behavior="ignoreErrors")
    page.reload()
    resent: list[str] = []
    page.on(
        "request", lambda request: resent.append(request.url) if request.method == "PUT" else None
    )
    _upload(page, app_server, noisy_clip, college, django_db_blocker)

    with django_db_blocker.unblock():
        asset = MediaAsset.objects.get(institution=college)
        sessions = UploadSession.objects.filter(institution=college).count()
    assert [_part_number(url) for url in resent] == [2]  # only the missing part
    assert (sessions, asset.status) == (1, AssetStatus.QUEUED)
    assert asset.size_bytes == noisy_clip.stat().st_size


def test_on_the_quick_starts_local_disk_an_upload_becomes_playable(
    page, local_app_server, college, editor, noisy_clip, django_db_blocker
):
    """The README's promise: media on local disk, no object storage server.
    The editor uploads in the admin, the worker transcodes, the editor plays
    the result on the asset's page."""
    log_in(page, local_app_server, "browser_editor")
    _upload(page, local_app_server, noisy_clip, college, django_db_blocker)
    with django_db_blocker.unblock():
        asset = MediaAsset.objects.get(institution=college)
        pipeline.asset_process(asset.pk, holder=states.holder_new())  # the worker's job
        asset.refresh_from_db()
    page.reload()
    assert page.get_attribute("[data-media-status]", "data-media-status") == "ready"

    # The inspect page's own player (hls.js on staff-only playlists).
    played_to = page.evaluate(PREVIEW_PLAY)

    assert played_to == pytest.approx(asset.duration_seconds, abs=0.5)


PREVIEW_PLAY = """
() => new Promise((resolve, reject) => {
  const video = document.querySelector("video[data-media-preview]");
  video.muted = true;
  video.hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) reject(new Error(data.details)); });
  video.addEventListener("ended", () => resolve(video.currentTime));
  video.play().catch(reject);
})
"""
PLAYER = """
<video id="player" muted playsinline></video>
"""
PLAY = """
([master]) => new Promise((resolve, reject) => {
  const video = document.getElementById("player");
  const hls = new Hls({ capLevelToPlayerSize: false, startLevel: 0 });
  const switched = [];
  let top = 0;
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => switched.push(data.level));
  hls.on(Hls.Events.ERROR, (_, data) => { if (data.fatal) reject(new Error(data.details)); });
  hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
    // The tallest video rendition: after the first seconds on the lowest, go there.
    const heights = data.levels.map((level) => level.height);
    top = heights.indexOf(Math.max(...heights));
    video.play().catch(reject);
  });
  video.addEventListener("timeupdate", () => {
    // currentLevel switches at once (flushing what is buffered), as a
    // viewer's manual quality choice does.
    if (video.currentTime > 1 && hls.currentLevel !== top) hls.currentLevel = top;
  });
  video.addEventListener("ended", () => resolve({
    time: video.currentTime,
    heights: hls.levels.map((level) => level.height),
    switched,
    top,
  }));
  hls.loadSource(master);
  hls.attachMedia(video);
})
"""


def _play(page, base: str, resource_id: int) -> dict:
    """Play the resource's video to the end with hls.js, in a page of the
    API's origin, as a front end would."""
    page.goto(f"{base}/api/v1/resources/{resource_id}/media")
    master = page.evaluate("() => JSON.parse(document.body.innerText).hls_master_url")
    page.set_content(PLAYER)
    page.add_script_tag(path=str(HLS_JS))
    played: dict = page.evaluate(PLAY, [master])
    return played


def test_the_ladder_plays_to_the_end_in_chromium_and_switches_renditions(
    page, app_server, college, django_db_blocker, tmp_path_factory
):
    clip = samples.lecture_clip(
        tmp_path_factory.mktemp("play") / "lecture.mp4", seconds=8, width=960, height=540
    )
    with django_db_blocker.unblock():
        asset = media_services.asset_create(
            institution_id=college.pk, path=clip, original_filename="lecture.mp4"
        )
        media_services.asset_submit(asset)
        pipeline.asset_process(asset.pk, holder=states.holder_new())
        resource = services.resource_create(
            institution=college,
            title="浏览器播放",
            resource_type=ResourceType.VIDEO,
            media_asset=asset,
        )
    # Start on the lowest video rendition; switch to the tallest while playing.
    played = _play(page, app_server, resource.pk)

    assert played["time"] == pytest.approx(8, abs=0.5)  # played to the end
    assert sorted(h for h in played["heights"] if h) == [360, 540]  # capped at the source
    assert played["switched"][0] != played["top"]
    assert played["top"] in played["switched"]
