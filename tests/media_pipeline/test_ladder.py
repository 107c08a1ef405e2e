"""The ladder as data, the pure command builder, and one real transcode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from media_pipeline import ffmpeg, ladder, transcode
from media_pipeline.limits import MediaLimits
from media_pipeline.validation import SourceProbe, source_validate


def _probe(width: int, height: int, *, kbps: int | None = 5000, audio: bool = True) -> SourceProbe:
    return SourceProbe(
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        demuxer="mov",
        duration_seconds=3600.0,
        width=width,
        height=height,
        fps=25.0,
        video_codec="h264",
        video_bitrate=kbps * 1000 if kbps else None,
        has_audio=audio,
        audio_codec="aac" if audio else None,
        stream_count=2 if audio else 1,
        size_bytes=10**9,
    )


def _names(plan: list[ladder.PlannedRendition]) -> list[str]:
    return [rendition.name for rendition in plan]


def test_1080p_source_gets_the_whole_ladder_and_audio() -> None:
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, _probe(1920, 1080, kbps=8000))
    assert _names(plan) == ["360p", "540p", "720p", "1080p", "audio"]
    assert [(r.width, r.height, r.maxrate_kbps) for r in plan[:4]] == [
        (640, 360, 800),
        (960, 540, 1400),
        (1280, 720, 2500),
        (1920, 1080, 4500),
    ]


def test_no_rung_is_taller_than_the_source() -> None:
    assert _names(ladder.ladder_plan(ladder.DEFAULT_LADDER, _probe(1280, 720))) == [
        "360p",
        "540p",
        "720p",
        "audio",
    ]


def test_a_source_below_the_lowest_rung_keeps_its_own_size() -> None:
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, _probe(320, 180, audio=False))
    assert [(r.name, r.width, r.height) for r in plan] == [("180p", 320, 180)]


def test_portrait_phone_video_is_scaled_by_its_short_side() -> None:
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, _probe(1080, 1920))
    assert next((r.width, r.height) for r in plan if r.kind == "video") == (360, 640)


def test_bitrate_is_capped_by_the_source() -> None:
    """A 600 kb/s slide lecture is not re-encoded at 4.5 Mb/s."""
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, _probe(1920, 1080, kbps=600))
    assert [r.maxrate_kbps for r in plan if r.kind == "video"] == [600, 600, 600, 600]


def _argv(
    plan: list[ladder.PlannedRendition], limits: MediaLimits, probe: SourceProbe
) -> list[str]:
    return ffmpeg.transcode_argv(
        source=Path("/work/source"),
        demuxer=probe.demuxer,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        duration_seconds=probe.duration_seconds,
        plan=plan,
        profile=ladder.DEFAULT_LADDER,
        limits=limits,
        outdir=Path("/work/out"),
    )


def test_one_command_decodes_once_and_writes_every_rendition(limits: MediaLimits) -> None:
    probe = _probe(1920, 1080)
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, probe)
    argv = _argv(plan, limits, probe)
    assert argv.count("-i") == 1
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=5")  # 4 rungs + the stills branch
    playlists = [a for a in argv if a.endswith("index.m3u8")]
    assert playlists == [f"/work/out/{name}/index.m3u8" for name in _names(plan)]
    assert argv.count("0:a:0?") == 1
    assert argv.count("-map_metadata") == 7  # every output: 5 HLS + poster + thumbnails
    assert argv.count("-sc_threshold") == 4
    assert argv.count("expr:gte(t,n_forced*2)") == 4
    assert argv.count("-hls_time") == 5 and argv[argv.index("-hls_time") + 1] == "6"
    assert argv[argv.index("-t") + 1] == "3601.000"
    assert argv[argv.index("-frames:v") + 1] == str(3601 * 25 + 1)
    assert argv[argv.index("-fs") + 1] == str(limits.output_bytes)
    assert "/work/out/poster/poster.jpg" in argv and "/work/out/thumbnails/%02d.jpg" in argv


def test_duration_caps_never_exceed_the_limit_whatever_the_probe_says(limits: MediaLimits) -> None:
    """M8: metadata can lie; the caps come from the limit as well."""
    probe = _probe(640, 360)
    lying = SourceProbe(**{**probe.__dict__, "duration_seconds": 10**9})
    argv = _argv(ladder.ladder_plan(ladder.DEFAULT_LADDER, lying), limits, lying)
    assert float(argv[argv.index("-t") + 1]) == limits.max_duration_seconds


def test_silent_source_maps_no_audio(limits: MediaLimits) -> None:
    probe = _probe(640, 360, audio=False)
    argv = _argv(ladder.ladder_plan(ladder.DEFAULT_LADDER, probe), limits, probe)
    assert "0:a:0?" not in argv and "/work/out/audio/index.m3u8" not in argv


def _ffprobe(*args: str) -> dict:
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(completed.stdout)


def _keyframe_times(playlist: Path) -> list[float]:
    report = _ffprobe(
        "-skip_frame",
        "nokey",
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=pts_time",
        str(playlist),
    )
    return [round(float(frame["pts_time"]), 2) for frame in report["frames"]]


@pytest.mark.services
@pytest.mark.slow
def test_real_transcode_writes_an_aligned_hls_ladder(
    clip_540p: Path, tmp_path: Path, limits: MediaLimits
) -> None:
    probe = source_validate(clip_540p, limits)
    plan = ladder.ladder_plan(ladder.DEFAULT_LADDER, probe)
    assert _names(plan) == ["360p", "540p", "audio"]
    progress: list[tuple[float, float | None]] = []
    output = transcode.ladder_transcode(
        source=clip_540p,
        probe=probe,
        plan=plan,
        profile=ladder.DEFAULT_LADDER,
        limits=limits,
        outdir=tmp_path / "out",
        on_progress=lambda percent, eta: progress.append((percent, eta)),
    )
    out = output.outdir
    for rendition in plan:
        playlist = (out / rendition.name / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("ENDLIST")
        durations = [
            float(line[8:].rstrip(","))
            for line in playlist.splitlines()
            if line.startswith("#EXTINF:")
        ]
        assert durations[0] == pytest.approx(6.0, abs=0.1)  # 6 s segments, then the rest
        assert sum(durations) == pytest.approx(7.0, abs=0.15)
        streams = _ffprobe("-show_streams", str(out / rendition.name / "index.m3u8"))["streams"]
        kinds = [(s["codec_type"], s["codec_name"]) for s in streams]
        assert kinds == ([("audio", "aac")] if rendition.kind == "audio" else [("video", "h264")])
        if rendition.kind == "video":
            assert (streams[0]["width"], streams[0]["height"]) == (
                rendition.width,
                rendition.height,
            )
    # Keyframes at the same instants on every rung: players can switch anywhere.
    keyframes = {name: _keyframe_times(out / name / "index.m3u8") for name in ("360p", "540p")}
    assert [round(t - keyframes["360p"][0], 2) for t in keyframes["360p"]] == [0, 2, 4, 6]
    assert keyframes["360p"] == keyframes["540p"]
    # -map_metadata -1: the mpegts muxer would otherwise name its service after the title.
    for segment in out.rglob("*.ts"):
        assert b"HOSTILE-TITLE" not in segment.read_bytes()
    assert (out / "poster" / "poster.jpg").stat().st_size > 1000
    assert len(list((out / "thumbnails").glob("*.jpg"))) == 10
    assert progress and progress[-1][0] <= 100.0
