"""Limits for untrusted media, read from settings (``MEDIA_*``, settings/base.py).

One frozen value so validation, the ffmpeg builders and the runner agree on
the same numbers, and tests can pass tighter ones without touching settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings

# Demuxers we accept, decided from the probe and never the extension
# (RELIABILITY.md M5). ffprobe reports the demuxer's full name list.
FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
ACCEPTED_FORMAT_NAMES = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
# The demuxer name ffmpeg's `-f` takes for each accepted format_name.
DEMUXER_FOR_FORMAT = {"mov,mp4,m4a,3gp,3g2,mj2": "mov", "matroska,webm": "matroska"}
ACCEPTED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
ACCEPTED_AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "ac3", "flac", "alac"})


@dataclass(frozen=True)
class MediaLimits:
    max_source_bytes: int
    max_duration_seconds: float
    max_pixels: int
    max_fps: float
    max_streams: int
    probe_timeout_seconds: float
    # Transcode subprocess limits (RELIABILITY.md M10, M11, M13).
    transcode_timeout_seconds: float
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    output_bytes: int
    niceness: int
    threads: int

    def with_(self, **changes: Any) -> MediaLimits:
        return replace(self, **changes)


def media_limits() -> MediaLimits:
    return MediaLimits(
        max_source_bytes=settings.MEDIA_MAX_SOURCE_BYTES,
        max_duration_seconds=settings.MEDIA_MAX_DURATION_SECONDS,
        max_pixels=settings.MEDIA_MAX_PIXELS,
        max_fps=settings.MEDIA_MAX_FPS,
        max_streams=settings.MEDIA_MAX_STREAMS,
        probe_timeout_seconds=settings.MEDIA_PROBE_TIMEOUT_SECONDS,
        transcode_timeout_seconds=settings.MEDIA_TRANSCODE_TIMEOUT_SECONDS,
        memory_bytes=settings.MEDIA_FFMPEG_MEMORY_BYTES,
        cpu_seconds=settings.MEDIA_FFMPEG_CPU_SECONDS,
        file_bytes=settings.MEDIA_FFMPEG_FILE_BYTES,
        output_bytes=settings.MEDIA_FFMPEG_OUTPUT_BYTES,
        niceness=settings.MEDIA_FFMPEG_NICENESS,
        threads=settings.MEDIA_FFMPEG_THREADS,
    )
