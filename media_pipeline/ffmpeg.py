"""The only place that builds ffmpeg/ffprobe command lines.

Pure functions from parameters to argv lists; running them is the caller's
job. Every invocation carries ``-protocol_whitelist file`` so a hostile input
can never make ffmpeg open a URL or another local file (RELIABILITY.md B3).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg

from media_pipeline.limits import FORMAT_WHITELIST

if TYPE_CHECKING:
    from media_pipeline.ladder import LadderProfile, PlannedRendition
    from media_pipeline.limits import MediaLimits

PROTOCOL_WHITELIST = "file"
# 5.1 is Debian 12's; every CVE class in RELIABILITY.md B3 is fixed well before
# it (CVE-2017-9993 in 3.3.2). tests/media_pipeline check the installed one.
MINIMUM_FFMPEG_VERSION = (5, 1)
MINIMUM_FFMPEG_MAJOR = MINIMUM_FFMPEG_VERSION[0]
PROBE_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ProbeResult:
    format_name: str
    duration_seconds: float | None
    width: int | None
    height: int | None
    stream_count: int


def ffmpeg_version() -> tuple[int, int]:
    """The (major, minor) version of the ffmpeg on PATH."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise FileNotFoundError("ffmpeg is not installed (scripts/services up ffmpeg)")
    first_line = subprocess.run(
        [binary, "-version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.splitlines()[0]
    match = re.search(r"version n?(\d+)\.(\d+)", first_line)
    if match is None:
        raise RuntimeError(f"cannot read the ffmpeg version from {first_line!r}")
    return int(match.group(1)), int(match.group(2))


def input_url(path: Path) -> str:
    """``file:`` + an absolute path we generated: a name such as ``concat:a|b``,
    ``subfile:`` or ``-i x`` can never be read as a protocol or an option (M4, M12)."""
    if not path.is_absolute():
        raise ValueError(f"ffmpeg inputs must be absolute paths, got {path}")
    return f"file:{path}"


def probe_argv(path: Path) -> list[str]:
    return [
        "ffprobe",
        "-v",
        "error",
        # No -nostdin here: ffprobe rejects it ("Option not found") and exits 1;
        # probe() gives it no stdin instead.
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-format_whitelist",
        FORMAT_WHITELIST,
        "-show_format",
        "-show_streams",
        "-of",
        "json",
        input_url(path),
    ]


def segment_profile_argv(path: Path) -> list[str]:
    """H.264 profile and level of one of our own segments (for CODECS=)."""
    return [
        "ffprobe",
        "-v",
        "error",
        "-protocol_whitelist",
        PROTOCOL_WHITELIST,
        "-f",
        "mpegts",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=profile,level",
        "-of",
        "json",
        input_url(path),
    ]


def probe(path: Path) -> ProbeResult:
    completed = subprocess.run(
        probe_argv(path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=PROBE_TIMEOUT_SECONDS,
    )
    report = json.loads(completed.stdout)
    video = next((s for s in report["streams"] if s.get("codec_type") == "video"), None)
    duration = report["format"].get("duration")
    return ProbeResult(
        format_name=report["format"]["format_name"],
        duration_seconds=float(duration) if duration is not None else None,
        width=int(video["width"]) if video else None,
        height=int(video["height"]) if video else None,
        stream_count=len(report["streams"]),
    )


def demo_clip_argv(
    output: Path, *, seconds: int, width: int, height: int, tone_hz: int
) -> list[str]:
    """A synthetic lecture clip (test pattern + tone) for demo data and tests."""
    picture = ffmpeg.input(f"testsrc2=size={width}x{height}:rate=25", f="lavfi", t=seconds)
    tone = ffmpeg.input(f"sine=frequency={tone_hz}:sample_rate=44100", f="lavfi", t=seconds)
    stream = ffmpeg.output(
        picture,
        tone,
        str(output),
        vcodec="libx264",
        preset="veryfast",
        pix_fmt="yuv420p",
        acodec="aac",
        movflags="+faststart",
        shortest=None,
    )
    return [
        *ffmpeg.compile(
            stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error"),
            overwrite_output=True,
        )
    ]


# --- transcode -----------------------------------------------------------------


def _input(source: Path, demuxer: str) -> ffmpeg.nodes.FilterableStream:
    # The probed demuxer is forced (-f) and the allowlists repeated, so ffmpeg
    # never re-guesses the format from the bytes at transcode time.
    return ffmpeg.input(
        input_url(source),
        f=demuxer,
        protocol_whitelist=PROTOCOL_WHITELIST,
        format_whitelist=FORMAT_WHITELIST,
    )


def _caps(duration_seconds: float, fps: float, limits: MediaLimits) -> dict[str, object]:
    """Output caps that hold even when the container's metadata lies (M8, M11)."""
    seconds = min(duration_seconds + 1, limits.max_duration_seconds)
    return {
        "t": f"{seconds:.3f}",
        "frames:v": math.ceil(seconds * min(fps, limits.max_fps)) + 1,
        "fs": limits.output_bytes,
        "map_metadata": -1,
    }


def _hls_options(profile: LadderProfile, directory: Path) -> dict[str, object]:
    return {
        "f": "hls",
        "hls_time": profile.segment_seconds,
        "hls_playlist_type": "vod",
        # Segments appear under their final name only once complete.
        "hls_flags": "temp_file",
        "hls_segment_filename": str(directory / "seg_%05d.ts"),
    }


def _still_outputs(
    frames: ffmpeg.nodes.FilterableStream,
    *,
    profile: LadderProfile,
    outdir: Path,
    width: int,
    height: int,
    duration_seconds: float,
    caps: dict[str, object],
) -> tuple[ffmpeg.nodes.OutputStream, ffmpeg.nodes.OutputStream]:
    """A poster and evenly spread thumbnails from one decoded stream.

    The poster is ffmpeg's ``thumbnail`` pick (the frame closest to the
    window's average) among one frame per second of the first minute, so a
    black title card or a blink is not what learners see.
    """
    from media_pipeline.ladder import scaled_size

    poster_size = scaled_size(width, height, min(profile.poster_short_side, min(width, height)))
    thumb_size = scaled_size(width, height, min(profile.thumbnail_short_side, min(width, height)))
    window = max(1, min(profile.poster_window_seconds, int(duration_seconds)))
    split = frames.filter_multi_output("split", 2)
    for_poster, for_thumbs = split.stream(0), split.stream(1)
    poster = (
        for_poster.filter("fps", fps=1)
        .filter("scale", poster_size[0], poster_size[1])
        .filter("thumbnail", n=window)
    )
    thumb_rate = profile.thumbnail_count / max(duration_seconds, 1.0)
    thumbs = for_thumbs.filter("fps", fps=f"{thumb_rate:.6f}").filter(
        "scale", thumb_size[0], thumb_size[1]
    )
    still = {"t": caps["t"], "map_metadata": -1, "f": "image2", "q:v": 4}
    return (
        ffmpeg.output(
            poster, str(outdir / "poster" / "poster.jpg"), **still, **{"frames:v": 1, "update": 1}
        ),
        ffmpeg.output(
            thumbs,
            str(outdir / "thumbnails" / "%02d.jpg"),
            **still,
            **{"frames:v": profile.thumbnail_count},
        ),
    )


def _compile(outputs: list[ffmpeg.nodes.OutputStream], progress: Path | None) -> list[str]:
    global_args = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if progress is not None:
        global_args += ["-progress", f"file:{progress}", "-stats_period", "1"]
    argv: list[str] = ffmpeg.compile(ffmpeg.merge_outputs(*outputs).global_args(*global_args))
    # ffmpeg-python cannot spell an optional map; the probe saw audio, and the
    # "?" keeps a lying container from failing the whole run (M9).
    return [("0:a:0?" if arg == "0:a:0" else arg) for arg in argv]


def transcode_argv(
    *,
    source: Path,
    demuxer: str,
    width: int,
    height: int,
    fps: float,
    duration_seconds: float,
    plan: list[PlannedRendition],
    profile: LadderProfile,
    limits: MediaLimits,
    outdir: Path,
    progress: Path | None = None,
    with_stills: bool = True,
) -> list[str]:
    """One ffmpeg process that decodes the source once and writes every
    planned rendition (video-only HLS per rung, one audio-only HLS), plus the
    poster and thumbnails, into ``outdir/<rendition>/``. The master playlist
    is not ffmpeg's job: the pipeline writes it after uploading the rest."""
    source_in = _input(source, demuxer)
    caps = _caps(duration_seconds, fps, limits)
    videos = [r for r in plan if r.kind == "video"]
    branches = len(videos) + (1 if with_stills else 0)
    splits = source_in["v:0"].filter_multi_output("split", branches) if branches else None
    gop = max(1, round(fps * profile.keyframe_seconds))
    outputs: list[ffmpeg.nodes.OutputStream] = []
    for index, rendition in enumerate(videos):
        assert splits is not None
        scaled = splits.stream(index).filter("scale", rendition.width, rendition.height)
        outputs.append(
            ffmpeg.output(
                scaled,
                str(outdir / rendition.name / "index.m3u8"),
                **{
                    "c:v": "libx264",
                    "preset": profile.preset,
                    "profile:v": "high",
                    "pix_fmt": "yuv420p",
                    "crf": profile.crf,
                    "maxrate": f"{rendition.maxrate_kbps}k",
                    "bufsize": f"{rendition.bufsize_kbps}k",
                    "g": gop,
                    "keyint_min": gop,
                    "sc_threshold": 0,
                    "force_key_frames": f"expr:gte(t,n_forced*{profile.keyframe_seconds})",
                    "threads": limits.threads,
                    **caps,
                    **_hls_options(profile, outdir / rendition.name),
                },
            )
        )
    for rendition in (r for r in plan if r.kind == "audio"):
        caps_audio = {k: v for k, v in caps.items() if k != "frames:v"}
        outputs.append(
            ffmpeg.output(
                source_in["a:0"],
                str(outdir / rendition.name / "index.m3u8"),
                **{
                    "c:a": "aac",
                    "b:a": f"{profile.audio.kbps}k",
                    "ac": profile.audio.channels,
                    "ar": profile.audio.sample_rate,
                    **caps_audio,
                    **_hls_options(profile, outdir / rendition.name),
                },
            )
        )
    if with_stills:
        assert splits is not None
        outputs.extend(
            _still_outputs(
                splits.stream(len(videos)),
                profile=profile,
                outdir=outdir,
                width=width,
                height=height,
                duration_seconds=duration_seconds,
                caps=caps,
            )
        )
    return _compile(outputs, progress)


def thumbnail_argv(
    *,
    source: Path,
    demuxer: str,
    width: int,
    height: int,
    duration_seconds: float,
    fps: float,
    profile: LadderProfile,
    limits: MediaLimits,
    outdir: Path,
) -> list[str]:
    """Poster and thumbnails alone (a retry whose renditions are all stored)."""
    source_in = _input(source, demuxer)
    outputs = _still_outputs(
        source_in["v:0"],
        profile=profile,
        outdir=outdir,
        width=width,
        height=height,
        duration_seconds=duration_seconds,
        caps=_caps(duration_seconds, fps, limits),
    )
    return _compile(list(outputs), None)
