"""The HLS ladder as data, and the plan for one source.

A profile says what we would like to offer; ``ladder_plan`` cuts it to what a
given source deserves: no rung taller than the source (no upscaling), and no
rung allowed more bits than the source itself carries, so a low-motion slide
lecture recorded at 600 kb/s is not re-encoded at 4.5 Mb/s.
"""

from __future__ import annotations

from dataclasses import dataclass

from media_pipeline.validation import SourceProbe

# Below this a cap from a tiny source bitrate would starve x264's rate control.
MIN_VIDEO_KBPS = 64


@dataclass(frozen=True)
class VideoRung:
    name: str
    short_side: int  # "720p" means the shorter side is 720, also for portrait phones
    max_kbps: int


@dataclass(frozen=True)
class AudioRung:
    name: str
    kbps: int
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class LadderProfile:
    name: str
    video: tuple[VideoRung, ...]
    audio: AudioRung
    # Keyframes every 2 s on every rung, at the same timestamps (forced by
    # time, scene cuts off): 6 s segments then line up across renditions, so
    # a player can switch at any segment boundary.
    keyframe_seconds: int
    segment_seconds: int
    crf: int  # capped CRF: quality target, maxrate/bufsize as the ceiling
    preset: str
    poster_short_side: int
    poster_window_seconds: int  # the poster is the most typical frame of this window
    thumbnail_count: int
    thumbnail_short_side: int


DEFAULT_LADDER = LadderProfile(
    name="lecture-v1",
    video=(
        VideoRung("360p", 360, 800),
        VideoRung("540p", 540, 1400),
        VideoRung("720p", 720, 2500),
        VideoRung("1080p", 1080, 4500),
    ),
    audio=AudioRung("audio", 96, 2, 48000),
    keyframe_seconds=2,
    segment_seconds=6,
    crf=23,
    preset="veryfast",
    poster_short_side=720,
    poster_window_seconds=60,
    thumbnail_count=10,
    thumbnail_short_side=180,
)


@dataclass(frozen=True)
class PlannedRendition:
    name: str
    kind: str  # "video" | "audio"
    width: int
    height: int
    maxrate_kbps: int

    @property
    def bufsize_kbps(self) -> int:
        return self.maxrate_kbps * 2


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    factor = short_side / min(width, height)
    return _even(width * factor), _even(height * factor)


def ladder_plan(profile: LadderProfile, source: SourceProbe) -> list[PlannedRendition]:
    source_short = min(source.width, source.height)
    rungs = [rung for rung in profile.video if rung.short_side <= source_short]
    if not rungs:
        # Smaller than the lowest rung: one rendition at the source's own size.
        lowest = profile.video[0]
        rungs = [VideoRung(f"{_even(source_short)}p", _even(source_short), lowest.max_kbps)]
    source_kbps = source.video_bitrate // 1000 if source.video_bitrate else None
    plan = []
    for rung in rungs:
        width, height = scaled_size(source.width, source.height, rung.short_side)
        cap = rung.max_kbps if source_kbps is None else min(rung.max_kbps, source_kbps)
        plan.append(PlannedRendition(rung.name, "video", width, height, max(cap, MIN_VIDEO_KBPS)))
    if source.has_audio:
        plan.append(PlannedRendition(profile.audio.name, "audio", 0, 0, profile.audio.kbps))
    return plan
