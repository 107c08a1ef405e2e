"""Run the one-pass ladder transcode and report progress from ffmpeg itself.

ffmpeg writes ``-progress`` key=value blocks to a file in the workspace; the
runner's poll loop reads the newest ``out_time_us`` and turns it into a
percentage of the probed duration and an ETA from the elapsed wall time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from media_pipeline import ffmpeg, runner
from media_pipeline.ladder import LadderProfile, PlannedRendition
from media_pipeline.limits import MediaLimits
from media_pipeline.validation import SourceProbe

ProgressCallback = Callable[[float, float | None], None]  # (percent, eta seconds)


@dataclass(frozen=True)
class LadderOutput:
    outdir: Path
    result: runner.RunResult


def run_limits(limits: MediaLimits, duration_seconds: float) -> runner.RunLimits:
    budget = limits.transcode_budget(duration_seconds)
    return runner.RunLimits(
        timeout_seconds=budget,
        memory_bytes=limits.memory_bytes,
        # ffmpeg's threads use every core: CPU time beyond budget × cores is a runaway.
        cpu_seconds=int(budget * (os.cpu_count() or 1)),
        file_bytes=limits.file_bytes,
        output_bytes=limits.output_bytes,
        niceness=limits.niceness,
    )


def progress_seconds(progress_file: Path) -> float | None:
    """The media time ffmpeg has written up to, from its newest progress block."""
    try:
        text = progress_file.read_text("ascii", "replace")
    except FileNotFoundError:
        return None
    for line in reversed(text.splitlines()):
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            return max(0, int(value)) / 1_000_000
    return None


def ladder_transcode(
    *,
    source: Path,
    probe: SourceProbe,
    plan: list[PlannedRendition],
    profile: LadderProfile,
    limits: MediaLimits,
    outdir: Path,
    on_progress: ProgressCallback | None = None,
    on_poll: Callable[[], None] | None = None,
    with_stills: bool = True,
) -> LadderOutput:
    """Transcode ``source`` into ``outdir/<rendition>/`` or raise MediaFailed."""
    for rendition in plan:
        (outdir / rendition.name).mkdir(parents=True, exist_ok=True)
    if with_stills:
        (outdir / "poster").mkdir(parents=True, exist_ok=True)
        (outdir / "thumbnails").mkdir(parents=True, exist_ok=True)
    progress_file = outdir.parent / f"{outdir.name}.progress"
    argv = ffmpeg.transcode_argv(
        source=source,
        demuxer=probe.demuxer,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        duration_seconds=probe.duration_seconds,
        plan=plan,
        profile=profile,
        limits=limits,
        outdir=outdir,
        progress=progress_file,
        with_stills=with_stills,
    )
    started = time.monotonic()

    def report() -> None:
        if on_poll is not None:
            on_poll()
        if on_progress is None:
            return
        done = progress_seconds(progress_file)
        if done is None:
            return
        fraction = min(1.0, done / probe.duration_seconds)
        elapsed = time.monotonic() - started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
        on_progress(round(fraction * 100, 1), eta)

    result = runner.run(
        argv,
        limits=run_limits(limits, probe.duration_seconds),
        workdir=outdir.parent,
        output_dir=outdir,
        on_poll=report,
    )
    if result.returncode != 0:
        raise runner.failure_for(result)
    # A short job can end between two polls: report ffmpeg's final block too.
    report()
    return LadderOutput(outdir=outdir, result=result)
