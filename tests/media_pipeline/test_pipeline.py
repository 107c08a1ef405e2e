"""The pipeline in-process against real PostgreSQL, MinIO and ffmpeg."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from media_pipeline import pipeline, runner, selectors, services, states, storage
from media_pipeline.models import AssetEvent, AssetStatus, MediaAsset, RenditionStatus
from tests.media_pipeline import samples
from tests.media_pipeline.factories import asset_stored

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def clean_outputs() -> Iterator[list[MediaAsset]]:
    """Assets whose HLS prefix is emptied before use and after the test."""
    made: list[MediaAsset] = []
    yield made
    for asset in made:
        storage.store().objects_delete(pipeline.hls_prefix(asset))


def _stored(college_a, clip: Path, made: list[MediaAsset], name: str = "lecture.mp4") -> MediaAsset:
    asset = asset_stored(college_a.pk, clip, name)
    # Only this asset's HLS prefix: media/<n>/sources/ holds institution n's sources.
    storage.store().objects_delete(pipeline.hls_prefix(asset))
    made.append(asset)
    services.asset_submit(asset)
    return asset


def test_clip_goes_from_queued_to_ready_with_every_object_stored(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset]
) -> None:
    asset = _stored(college_a, clip_small, clean_outputs)
    assert pipeline.asset_process(asset.pk, holder=states.holder_new()) is not None
    asset.refresh_from_db()
    assert (asset.status, asset.progress_percent, asset.attempts) == (AssetStatus.READY, 100.0, 1)
    prefix = f"media/{asset.pk}/{asset.sha256}/"
    assert asset.hls_prefix == prefix
    assert list(asset.events.values_list("to_status", flat=True)) == [
        "queued",
        "probing",
        "transcoding",
        "uploading",
        "ready",
    ]
    keys = set(storage.store().object_keys(f"media/{asset.pk}/{asset.sha256[:8]}"))
    expected = {
        f"{prefix}master.m3u8",
        f"{prefix}poster.jpg",
        f"{prefix}180p/index.m3u8",
        f"{prefix}180p/seg_00000.ts",
        f"{prefix}audio/index.m3u8",
        f"{prefix}audio/seg_00000.ts",
    } | {f"{prefix}thumbnails/{n:02d}.jpg" for n in range(1, 11)}
    assert keys == expected
    master = storage.store().object_get(f"{prefix}master.m3u8").decode()
    assert 'RESOLUTION=320x180,CODECS="avc1.64' in master and 'AUDIO="audio"' in master
    assert asset.renditions.filter(status=RenditionStatus.UPLOADED).count() == 2


def test_second_delivery_after_ready_changes_nothing(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset]
) -> None:
    """C9: the same message twice gives one result."""
    asset = _stored(college_a, clip_small, clean_outputs)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    keys = storage.store().object_keys(pipeline.hls_prefix(asset))
    assert pipeline.asset_process(asset.pk, holder=states.holder_new()) is None
    assert AssetEvent.objects.filter(asset=asset, to_status="ready").count() == 1
    assert storage.store().object_keys(pipeline.hls_prefix(asset)) == keys


def test_rerun_for_the_same_source_overwrites_the_same_prefix(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset]
) -> None:
    """U8: a re-transcode (ready → queued) lands on the same deterministic keys."""
    asset = _stored(college_a, clip_small, clean_outputs)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    first = storage.store().object_keys(pipeline.hls_prefix(asset))
    assert states.asset_requeue(asset.pk, expected=[AssetStatus.READY])
    asset.renditions.update(status=RenditionStatus.PENDING)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    assert storage.store().object_keys(pipeline.hls_prefix(asset)) == first
    assert AssetEvent.objects.filter(asset=asset, to_status="ready").count() == 2


def test_retry_transcodes_only_renditions_not_yet_stored(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset], monkeypatch
) -> None:
    """Per-rendition state: a stored rendition is not encoded again."""
    asset = _stored(college_a, clip_small, clean_outputs)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    assert states.asset_requeue(asset.pk, expected=[AssetStatus.READY])
    asset.renditions.filter(kind="audio").update(status=RenditionStatus.PENDING)
    seen: list[list[str]] = []
    real_run = runner.run

    def recording_run(argv, **kwargs):  # a spy: records, then runs ffmpeg for real
        seen.append(list(argv))
        return real_run(argv, **kwargs)

    monkeypatch.setattr(runner, "run", recording_run)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    transcode_argv = next(argv for argv in seen if argv[0] == "ffmpeg")
    outputs = [a for a in transcode_argv if a.endswith("index.m3u8")]
    assert [Path(o).parent.name for o in outputs] == ["audio"]
    asset.refresh_from_db()
    assert asset.status == AssetStatus.READY


def test_hostile_upload_fails_with_its_reason_and_stores_nothing(
    college_a, tmp_path: Path, clean_outputs: list[MediaAsset]
) -> None:
    hostile = samples.hls_playlist_disguised(tmp_path / "m1.mp4", "file:///etc/passwd")
    asset = _stored(college_a, hostile, clean_outputs, name="../../etc/passwd; rm -rf")
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    asset.refresh_from_db()
    assert (asset.status, asset.failure_code) == (AssetStatus.FAILED, "unsupported_container")
    assert asset.failure_message.startswith("Unsupported container")
    assert storage.store().object_keys(pipeline.hls_prefix(asset)) == []
    assert asset.original_filename == "passwd; rm -rf"  # shown sanitised, never used as a path
    assert "passwd" not in str(asset.source.name)


def test_hostile_filename_never_reaches_argv(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset], monkeypatch
) -> None:
    """M12: ffmpeg sees only paths we generated."""
    hostile_name = "-i x.mp4;rm -rf $HOME ‮4pm.exe"
    asset = _stored(college_a, clip_small, clean_outputs, name=hostile_name)
    seen: list[str] = []
    real_run = runner.run

    def recording_run(argv, **kwargs):
        seen.extend(argv)
        return real_run(argv, **kwargs)

    monkeypatch.setattr(runner, "run", recording_run)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    assert seen and not any("rm -rf" in arg or "‮" in arg or arg == "x.mp4" for arg in seen)


def test_progress_and_queue_position_for_the_admin(
    college_a, clip_small: Path, clip_540p: Path, clean_outputs: list[MediaAsset]
) -> None:
    first = _stored(college_a, clip_small, clean_outputs)
    second = _stored(college_a, clip_540p, clean_outputs)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (selectors.asset_queue_position(first), selectors.asset_queue_position(second)) == (1, 2)
    report = selectors.asset_progress(second)
    assert (report["status"], report["queue_position"], report["failure_message"]) == (
        "queued",
        2,
        None,
    )


def test_signed_playlists_point_at_presigned_segments(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset]
) -> None:
    import urllib.request

    asset = _stored(college_a, clip_small, clean_outputs)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    asset.refresh_from_db()
    master = selectors.playlist_signed(asset, rendition_url=lambda name: f"/api/x/{name}.m3u8")
    assert "/api/x/180p.m3u8" in master and 'URI="/api/x/audio.m3u8"' in master
    rendition = selectors.playlist_signed(asset, "180p", seconds=60)
    segment_url = next(line for line in rendition.splitlines() if line.startswith("http"))
    assert "X-Amz-Signature=" in segment_url
    with urllib.request.urlopen(segment_url, timeout=10) as response:
        assert response.read(1) == b"G"  # MPEG-TS sync byte 0x47


def test_soft_time_limit_kills_ffmpeg_cleans_up_and_fails_with_timeout(
    college_a, clip_540p: Path, clean_outputs: list[MediaAsset], monkeypatch
) -> None:
    """C10: Celery raises SoftTimeLimitExceeded from a signal handler in the
    child; the same happens here with SIGALRM, mid-transcode."""
    import os
    import signal

    from celery.exceptions import SoftTimeLimitExceeded

    asset = _stored(college_a, clip_540p, clean_outputs)
    groups: list[int] = []
    real_run = runner.run

    def recording_run(argv, **kwargs):
        return real_run(argv, **kwargs, on_start=groups.append)

    def soft_limit(signum, frame):
        raise SoftTimeLimitExceeded()

    workspaces: list[Path] = []
    real_workspace = pipeline.workspace

    @contextmanager
    def recording_workspace() -> Iterator[Path]:
        with real_workspace() as path:
            workspaces.append(path)
            yield path

    monkeypatch.setattr(runner, "run", recording_run)
    monkeypatch.setattr(pipeline, "workspace", recording_workspace)
    previous = signal.signal(signal.SIGALRM, soft_limit)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.5)
        pipeline.asset_process(asset.pk, holder=states.holder_new())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    asset.refresh_from_db()
    assert (asset.status, asset.failure_code) == (AssetStatus.FAILED, "timeout")
    assert AssetEvent.objects.filter(asset=asset, from_status="transcoding").count() == 1
    with pytest.raises(ProcessLookupError):
        os.killpg(groups[-1], 0)  # the transcode's process group is gone
    assert workspaces and not workspaces[0].exists()


def test_cancel_while_probing_stops_before_transcoding(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset], monkeypatch
) -> None:
    asset = _stored(college_a, clip_small, clean_outputs)
    real_run = runner.run

    def cancelling_run(argv, **kwargs):  # the editor clicks Cancel during the probe
        services.asset_cancel(asset)
        return real_run(argv, **kwargs)

    monkeypatch.setattr(runner, "run", cancelling_run)
    pipeline.asset_process(asset.pk, holder=states.holder_new())
    asset.refresh_from_db()
    assert (asset.status, asset.failure_code) == (AssetStatus.FAILED, "cancelled")
    assert not AssetEvent.objects.filter(asset=asset, to_status="transcoding").exists()
    assert storage.store().object_keys(pipeline.hls_prefix(asset)) == []


def test_segments_go_up_while_ffmpeg_still_writes_the_next_one(
    college_a, clip_small: Path, clean_outputs: list[MediaAsset], tmp_path: Path
) -> None:
    """The upload overlaps the transcode; a segment is only sent once a later
    one exists (ffmpeg writes them in order), the rest after ffmpeg exits."""
    asset = _stored(college_a, clip_small, clean_outputs)
    plan = [pipeline.ladder.PlannedRendition("360p", "video", 640, 360, 800)]
    directory = tmp_path / "out" / "360p"
    directory.mkdir(parents=True)
    for number in range(3):
        (directory / f"seg_{number:05d}.ts").write_bytes(b"G" * 188)
    (directory / "seg_00003.ts.tmp").write_bytes(b"G")  # still being written
    uploader = pipeline.SegmentUploader(asset, tmp_path / "out", plan)
    try:
        uploader.poll()
        for future in uploader.futures:
            future.result()
        prefix = f"{pipeline.hls_prefix(asset)}360p/"
        stored = storage.store().object_keys(prefix)
        assert stored == [f"{prefix}seg_00000.ts", f"{prefix}seg_00001.ts"]
        uploader.finish()
        assert len(storage.store().object_keys(prefix)) == 3
    finally:
        uploader.close()
