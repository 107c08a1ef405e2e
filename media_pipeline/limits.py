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
    transcode_timeout_seconds: float  # the most any source gets (see transcode_budget)
    transcode_timeout_base_seconds: float
    transcode_speed_floor: float  # × realtime the slowest transcode host reaches
    memory_bytes: int
    file_bytes: int
    output_bytes: int
    niceness: int
    threads: int

    def with_(self, **changes: Any) -> MediaLimits:
        return replace(self, **changes)

    def transcode_budget(self, duration_seconds: float) -> float:
        """ffmpeg's wall-time budget for a source of this duration: a stalled
        short clip is called stuck soon, a long lecture gets the time it needs."""
        needed = self.transcode_timeout_base_seconds + duration_seconds / self.transcode_speed_floor
        return min(self.transcode_timeout_seconds, needed)


def media_limits() -> MediaLimits:
    return MediaLimits(
        max_source_bytes=settings.MEDIA_MAX_SOURCE_BYTES,
        max_duration_seconds=settings.MEDIA_MAX_DURATION_SECONDS,
        max_pixels=settings.MEDIA_MAX_PIXELS,
        max_fps=settings.MEDIA_MAX_FPS,
        max_streams=settings.MEDIA_MAX_STREAMS,
        probe_timeout_seconds=settings.MEDIA_PROBE_TIMEOUT_SECONDS,
        transcode_timeout_seconds=settings.MEDIA_TRANSCODE_TIMEOUT_SECONDS,
        transcode_timeout_base_seconds=settings.MEDIA_TRANSCODE_TIMEOUT_BASE_SECONDS,
        transcode_speed_floor=settings.MEDIA_TRANSCODE_SPEED_FLOOR,
        memory_bytes=settings.MEDIA_FFMPEG_MEMORY_BYTES,
        file_bytes=settings.MEDIA_FFMPEG_FILE_BYTES,
        output_bytes=settings.MEDIA_FFMPEG_OUTPUT_BYTES,
        niceness=settings.MEDIA_FFMPEG_NICENESS,
        threads=settings.MEDIA_FFMPEG_THREADS,
    )
