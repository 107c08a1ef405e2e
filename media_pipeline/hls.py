"""HLS playlists: measuring what ffmpeg wrote, writing the master ourselves.

The master playlist is ours, not ffmpeg's, because it is the commit point:
it is uploaded last, after every rendition it names is stored (RELIABILITY.md
U8), and its BANDWIDTH values are measured from the real segments (peak
segment bitrate, as the HLS spec asks), not guessed from the encoder caps.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from media_pipeline import ffmpeg

AUDIO_GROUP = "audio"
AAC_LC = "mp4a.40.2"


@dataclass(frozen=True)
class Measured:
    segments: list[str]
    duration_seconds: float
    bandwidth: int  # peak bits/s over segments
    average_bandwidth: int
    codecs: str


def segment_entries(playlist: str) -> list[tuple[float, str]]:
    entries: list[tuple[float, str]] = []
    duration: float | None = None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            entries.append((duration, line.strip()))
            duration = None
    return entries


def _avc_codec(segment: Path) -> str:
    """RFC 6381 codec string of the segment's H.264 stream (profile + level)."""
    completed = subprocess.run(
        ffmpeg.segment_profile_argv(segment),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    stream = json.loads(completed.stdout)["streams"][0]
    profile_idc = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D}.get(
        stream.get("profile", ""), 0x64
    )
    return f"avc1.{profile_idc:02x}00{int(stream.get('level', 40)):02x}"


def rendition_measure(directory: Path, kind: str) -> Measured:
    entries = segment_entries((directory / "index.m3u8").read_text())
    if not entries:
        raise ValueError(f"{directory} has no segments")
    rates = [(directory / name).stat().st_size * 8 / max(seconds, 0.1) for seconds, name in entries]
    total_seconds = sum(seconds for seconds, _ in entries)
    total_bits = sum((directory / name).stat().st_size * 8 for _, name in entries)
    return Measured(
        segments=[name for _, name in entries],
        duration_seconds=total_seconds,
        bandwidth=int(max(rates)),
        average_bandwidth=int(total_bits / max(total_seconds, 0.1)),
        codecs=AAC_LC if kind == "audio" else _avc_codec(directory / entries[0][1]),
    )


@dataclass(frozen=True)
class VariantEntry:
    name: str
    kind: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str


def master_playlist(variants: list[VariantEntry]) -> str:
    """Video variants share one demuxed AAC rendition (an audio group); the
    audio rendition is also a variant of its own for audio-only listening."""
    audio = next((v for v in variants if v.kind == "audio"), None)
    videos = sorted((v for v in variants if v.kind == "video"), key=lambda v: v.bandwidth)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio is not None:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="audio",LANGUAGE="zh",'
            f'DEFAULT=YES,AUTOSELECT=YES,URI="{audio.name}/index.m3u8"'
        )
    for video in videos:
        bandwidth = video.bandwidth + (audio.bandwidth if audio else 0)
        average = video.average_bandwidth + (audio.average_bandwidth if audio else 0)
        codecs = video.codecs + (f",{audio.codecs}" if audio else "")
        group = f',AUDIO="{AUDIO_GROUP}"' if audio else ""
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={average},"
            f'RESOLUTION={video.width}x{video.height},CODECS="{codecs}"{group}'
        )
        lines.append(f"{video.name}/index.m3u8")
    if audio is not None:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={audio.bandwidth},"
            f'AVERAGE-BANDWIDTH={audio.average_bandwidth},CODECS="{audio.codecs}"'
        )
        lines.append(f"{audio.name}/index.m3u8")
    return "\n".join(lines) + "\n"
