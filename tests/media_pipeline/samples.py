"""Test media, generated with ffmpeg at test time (never downloaded).

Run as a script to write every hostile sample of RELIABILITY.md B3 into a
directory for manual poking: ``python -m tests.media_pipeline.samples /tmp/h``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

QUIET = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]


def ffmpeg_run(*args: str) -> None:
    subprocess.run([*QUIET, *args], check=True, timeout=120)


def lecture_clip(
    path: Path,
    *,
    seconds: float = 4,
    width: int = 320,
    height: int = 180,
    fps: int = 25,
    audio: bool = True,
    extra: tuple[str, ...] = (),
) -> Path:
    """A test pattern with a tone: the normal, valid upload."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-b:a", "64k"]
    ffmpeg_run(*args, *extra, str(path))
    return path


def noise_clip(path: Path, *, seconds: float = 4) -> Path:
    """A valid clip of random pixels, which do not compress: ~1.5 MB per
    second, so a short one still needs several 5 MiB upload parts."""
    ffmpeg_run(
        *("-f", "lavfi", "-i", "nullsrc=s=320x240:r=25,geq=lum='random(1)*255':cb=128:cr=128"),
        *("-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds)),
        *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest", str(path)),
    )
    return path


def hls_playlist_disguised(path: Path, target: str) -> Path:
    """M1/M3: an "mp4" that is an HLS playlist pointing at ``target``."""
    path.write_text(f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


def ffconcat_disguised(path: Path, target: str) -> Path:
    """M3/M4: an ffconcat script naming a URL or a local file."""
    path.write_text(f"ffconcat version 1.0\nfile '{target}'\n")
    return path


def avi_with_playlist(path: Path) -> Path:
    """M2: an AVI (a demuxer we do not allow) carrying an HLS playlist payload.

    The real xbin exploit hides the playlist in a GAB2 subtitle chunk; what
    matters here is that no AVI reaches a demuxer at all, so an AVI with the
    playlist bytes appended stands in for it.
    """
    ffmpeg_run(
        "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=5", "-t", "1", "-c:v", "mjpeg", str(path)
    )
    with path.open("ab") as handle:
        handle.write(b"GAB2\x00#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    return path


def matroska_as_mp4(path: Path) -> Path:
    """M5: Matroska bytes under a .mp4 name (accepted: Matroska is allowed)."""
    tmp = path.with_suffix(".mkv")
    lecture_clip(tmp, seconds=1)
    tmp.rename(path)
    return path


def png_as_mp4(path: Path) -> Path:
    ffmpeg_run(
        "-f",
        "lavfi",
        "-i",
        "color=red:size=32x32",
        "-frames:v",
        "1",
        "-f",
        "image2",
        "-c:v",
        "png",
        str(path),
    )
    return path


def djvu_as_mp4(path: Path) -> Path:
    # The DjVu magic that GitLab's ExifTool CVE-2021-22205 abused.
    path.write_bytes(b"AT&TFORM\x00\x00\x00\x20DJVUINFO\x00\x00\x00\x0a" + b"\x00" * 64)
    return path


def truncated_mp4(path: Path, work: Path) -> Path:
    """M6: the first kilobyte of a faststart-less MP4 (no moov atom)."""
    whole = lecture_clip(work / "whole-for-truncation.mp4", seconds=2)
    path.write_bytes(whole.read_bytes()[:1024])
    return path


def huge_dimensions_mkv(path: Path, work: Path, side: int = 16384) -> Path:
    """M7: a Matroska header that claims ``side``×``side``.

    Encoding a real frame that size needs gigabytes; the header claim is what
    validation must refuse, so a 256×256 raw frame's PixelWidth/PixelHeight
    elements (EBML ids B0/BA, two-byte values 0x0100) are patched. ffmpeg
    itself refuses 16384² as a picture size; 8192² gets through to our limit.
    """
    small = work / "small-raw.mkv"
    ffmpeg_run(
        "-f",
        "lavfi",
        "-i",
        "color=blue:size=256x256:rate=1",
        "-frames:v",
        "1",
        "-c:v",
        "rawvideo",
        "-pix_fmt",
        "yuv420p",
        str(small),
    )
    data = bytearray(small.read_bytes())
    for element in (b"\xb0\x82\x01\x00", b"\xba\x82\x01\x00"):
        at = data.find(element)
        assert at >= 0, f"EBML element {element.hex()} not found"
        data[at + 2 : at + 4] = side.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def high_fps_mp4(path: Path) -> Path:
    """M7: 1000 frames per second."""
    return lecture_clip(path, seconds=0.2, width=32, height=32, fps=1000, audio=False)


def ten_hour_mp4(path: Path) -> Path:
    """M8: a real 10 h video of a few hundred kB (one frame a minute)."""
    ffmpeg_run(
        "-f",
        "lavfi",
        "-i",
        "color=gray:size=32x32:rate=1/60",
        "-t",
        "36000",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def audio_only_mp4(path: Path) -> Path:
    """M9: no video stream."""
    ffmpeg_run("-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:a", "aac", str(path))
    return path


def many_streams_mkv(path: Path, streams: int = 200) -> Path:
    """M9: one video stream and ``streams - 1`` audio streams."""
    maps = ["-map", "0:v"] + ["-map", "1:a"] * (streams - 1)
    ffmpeg_run(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=32x32:rate=5",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=8000",
        "-t",
        "0.4",
        *maps,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "pcm_s16le",
        str(path),
    )
    return path


def huge_tags_mp4(path: Path, tag_bytes: int = 100_000) -> Path:
    """M9: a valid clip with a 100 kB comment tag and a title.

    (100 kB because one argv string tops out at 128 kB.)
    """
    return lecture_clip(
        path,
        seconds=3,
        extra=("-metadata", "comment=" + "X" * tag_bytes, "-metadata", "title=HOSTILE-TITLE"),
    )


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [
        hls_playlist_disguised(directory / "m1-hls.mp4", "file:///etc/passwd"),
        avi_with_playlist(directory / "m2-gab2.avi"),
        hls_playlist_disguised(directory / "m3-ssrf.mp4", "http://127.0.0.1:9/x.ts"),
        ffconcat_disguised(directory / "m4-ffconcat.mp4", "/etc/passwd"),
        matroska_as_mp4(directory / "m5-mkv.mp4"),
        png_as_mp4(directory / "m5-png.mp4"),
        djvu_as_mp4(directory / "m5-djvu.mp4"),
        truncated_mp4(directory / "m6-truncated.mp4", directory),
        huge_dimensions_mkv(directory / "m7-16k.mkv", directory),
        huge_dimensions_mkv(directory / "m7-8k.mkv", directory, side=8192),
        high_fps_mp4(directory / "m7-1000fps.mp4"),
        ten_hour_mp4(directory / "m8-10h.mp4"),
        audio_only_mp4(directory / "m9-audio.mp4"),
        many_streams_mkv(directory / "m9-200streams.mkv"),
        huge_tags_mp4(directory / "m9-tags.mp4"),
    ]


if __name__ == "__main__":
    for sample in write_all(Path(sys.argv[1])):
        print(sample)
