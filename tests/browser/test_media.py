"""A real browser uploads a lecture through the admin and plays the result:
the resumable upload screen, then hls.js on the ladder the pipeline wrote
(issue #4 items 1 and 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cms import services
from cms.models import ResourceType
from media_pipeline import pipeline, states
from media_pipeline import services as media_services
from media_pipeline.models import AssetStatus, MediaAsset
from tests.browser.conftest import HLS_JS, log_in
from tests.media_pipeline import samples

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def noisy_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~6 MB for 4 s (noise does not compress): two 5 MiB parts."""
    path = samples.noise_clip(tmp_path_factory.mktemp("browser") / "第二讲.mp4")
    assert path.stat().st_size > 5 * 1024**2
    return path


def test_an_editor_uploads_a_video_in_parts_and_sees_it_queued(
    page, app_server, college, editor, noisy_clip, django_db_blocker
):
    log_in(page, app_server, "browser_editor")
    page.goto(f"{app_server}/admin/media_assets/upload/")

    page.set_input_files("#upload-file", str(noisy_clip))
    page.click("form[data-media-upload] button[type=submit]")
    page.wait_for_url("**/admin/media_assets/inspect/*/", timeout=60_000)

    with django_db_blocker.unblock():
        asset = MediaAsset.objects.get(institution=college)
    assert (asset.status, asset.size_bytes) == (AssetStatus.QUEUED, noisy_clip.stat().st_size)
    assert asset.original_filename == "第二讲.mp4"
    assert "number" in page.text_content("[data-media-status]")  # its place in the queue


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
    page.goto(f"{app_server}/api/v1/resources/{resource.pk}/media")
    master = page.evaluate("() => JSON.parse(document.body.innerText).hls_master_url")
    page.set_content(PLAYER)  # same origin as the API, as a front end would be
    page.add_script_tag(path=str(HLS_JS))

    # Start on the lowest video rendition; switch to the tallest while playing.
    played = page.evaluate(PLAY, [master])

    assert played["time"] == pytest.approx(8, abs=0.5)  # played to the end
    assert sorted(h for h in played["heights"] if h) == [360, 540]  # capped at the source
    assert played["switched"][0] != played["top"]
    assert played["top"] in played["switched"]
