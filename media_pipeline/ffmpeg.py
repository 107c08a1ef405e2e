"""The only place that builds ffmpeg/ffprobe command lines.

Pure functions from parameters to argv lists; running them is the caller's
job. Every invocation carries ``-protocol_whitelist file`` so a hostile input
can never make ffmpeg open a URL or another local file (RELIABILITY.md B3).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

PROTOCOL_WHITELIST = "file"
# Containers we accept from uploads; decided from the probe, never the extension.
FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
MINIMUM_FFMPEG_MAJOR = 5
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
        str(path),
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
