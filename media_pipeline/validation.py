"""Validation before anything is decoded (RELIABILITY.md B3).

The only input to a decision is what ffprobe, confined to local files and
allowlisted demuxers, says about the bytes: never the extension, the
uploader's filename or a client-declared type. Each refusal is a
:class:`MediaRefused` with a stable code and a sentence for the uploader.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from django.utils.http import content_disposition_header

from media_pipeline import ffmpeg, runner
from media_pipeline.errors import MediaRefused
from media_pipeline.limits import (
    ACCEPTED_AUDIO_CODECS,
    ACCEPTED_FORMAT_NAMES,
    ACCEPTED_VIDEO_CODECS,
    DEMUXER_FOR_FORMAT,
    MediaLimits,
)

# Magic numbers of the containers we accept: when the confined probe fails on
# one of these the file is damaged; on anything else it is the wrong kind.
_MP4_BOX_TYPES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
DISPLAY_NAME_MAX = 200


@dataclass(frozen=True)
class SourceProbe:
    """What the pipeline needs to know about an accepted source."""

    format_name: str
    demuxer: str
    duration_seconds: float
    width: int
    height: int
    fps: float
    video_codec: str
    video_bitrate: int | None
    has_audio: bool
    audio_codec: str | None
    stream_count: int
    size_bytes: int


def _looks_like_accepted_container(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    return head[4:8] in _MP4_BOX_TYPES or head.startswith(_EBML_MAGIC)


def _fps(stream: dict[str, Any]) -> float:
    # avg_frame_rate is 0/0 for some muxers; r_frame_rate is the header's claim.
    for key in ("avg_frame_rate", "r_frame_rate"):
        raw = stream.get(key) or "0/0"
        numerator, _, denominator = raw.partition("/")
        if denominator not in ("", "0") and numerator not in ("", "0"):
            return float(Fraction(int(numerator), int(denominator)))
    return 0.0


def _positive_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == number and number != float("inf") else None


def probe_report(path: Path, limits: MediaLimits) -> dict[str, Any]:
    """ffprobe's JSON for ``path``, or a refusal saying why it has none."""
    if path.stat().st_size == 0:
        raise MediaRefused("empty", "The file is empty.")
    result = runner.run(
        ffmpeg.probe_argv(path),
        limits=runner.RunLimits(
            timeout_seconds=limits.probe_timeout_seconds,
            memory_bytes=limits.memory_bytes,
            cpu_seconds=int(limits.probe_timeout_seconds) + 1,
            file_bytes=1024 * 1024,
        ),
        workdir=path.parent,
    )
    if result.returncode != 0:
        if _looks_like_accepted_container(path):
            raise MediaRefused("unreadable", "Video file unreadable (damaged or incomplete).")
        raise MediaRefused(
            "unsupported_container",
            "Unsupported container: upload an MP4/MOV, Matroska or WebM video.",
        )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def source_validate(path: Path, limits: MediaLimits) -> SourceProbe:
    """Probe ``path`` and accept it as a lecture video source, or refuse it."""
    size_bytes = path.stat().st_size
    if size_bytes > limits.max_source_bytes:
        raise MediaRefused(
            "too_large", f"The file is larger than {limits.max_source_bytes // 1024**2} MiB."
        )
    report = probe_report(path, limits)
    media_format = report.get("format", {})
    format_name = media_format.get("format_name", "")
    # Belt and braces: the probe ran with -format_whitelist, so anything else
    # here means the allowlist and this set drifted apart.
    if format_name not in ACCEPTED_FORMAT_NAMES:
        raise MediaRefused(
            "unsupported_container",
            "Unsupported container: upload an MP4/MOV, Matroska or WebM video.",
        )
    streams = report.get("streams", [])
    if len(streams) > limits.max_streams:
        raise MediaRefused(
            "too_many_streams",
            f"The file has {len(streams)} streams; at most {limits.max_streams} are accepted.",
        )
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise MediaRefused(
            "no_video", "The file has no video stream; upload audio as an audio resource."
        )
    if len(videos) > 1:
        raise MediaRefused("too_many_video_streams", "The file has more than one video stream.")
    video = videos[0]
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise MediaRefused("unreadable", "Video file unreadable (no picture size).")
    if width * height > limits.max_pixels:
        raise MediaRefused(
            "resolution", f"The picture is {width}×{height}; the largest accepted is 3840×2160."
        )
    fps = _fps(video)
    if fps <= 0 or fps > limits.max_fps:
        raise MediaRefused(
            "frame_rate", f"The frame rate ({fps:g} fps) is above {limits.max_fps:g} fps."
        )
    duration = _positive_float(media_format.get("duration")) or _positive_float(
        video.get("duration")
    )
    if duration is None:
        raise MediaRefused("duration_unknown", "The video's length cannot be read.")
    if duration > limits.max_duration_seconds:
        raise MediaRefused(
            "duration",
            f"The video is {duration / 60:.0f} min long; "
            f"the longest accepted is {limits.max_duration_seconds / 60:.0f} min.",
        )
    video_codec = video.get("codec_name", "")
    if video_codec not in ACCEPTED_VIDEO_CODECS:
        raise MediaRefused("video_codec", f"Video codec {video_codec!r} is not accepted.")
    audio_codec = audios[0].get("codec_name") if audios else None
    if audio_codec is not None and audio_codec not in ACCEPTED_AUDIO_CODECS:
        raise MediaRefused("audio_codec", f"Audio codec {audio_codec!r} is not accepted.")
    bitrate = video.get("bit_rate") or media_format.get("bit_rate")
    return SourceProbe(
        format_name=format_name,
        demuxer=DEMUXER_FOR_FORMAT[format_name],
        duration_seconds=duration,
        width=width,
        height=height,
        fps=fps,
        video_codec=video_codec,
        video_bitrate=int(bitrate) if bitrate and str(bitrate).isdigit() else None,
        has_audio=audio_codec is not None,
        audio_codec=audio_codec,
        stream_count=len(streams),
        size_bytes=size_bytes,
    )


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def display_filename(original: str) -> str:
    """The uploader's filename made safe to *show* (it is never used as a path).

    Drops directories, control and bidi-override characters (RTL spoofing),
    and bounds the length (RELIABILITY.md M12).
    """
    name = original.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cf", "Cc"})
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > DISPLAY_NAME_MAX:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) <= 8:
            name = stem[: DISPLAY_NAME_MAX - len(extension) - 1] + "." + extension
        else:
            name = name[:DISPLAY_NAME_MAX]
    return name or "video"


def content_disposition(original: str) -> str:
    header = content_disposition_header(as_attachment=True, filename=display_filename(original))
    assert header is not None
    return header
