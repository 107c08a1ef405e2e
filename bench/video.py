"""Benchmark: the video pipeline against bare ffmpeg, side by side, one run.

On a generated 60 s 1080p lecture-like clip (test pattern + tone), measures:

1. bare: one ffmpeg command producing the whole ladder (the same argv the
   pipeline builds: 4 video rungs, audio, poster, thumbnails), nothing else;
2. pipeline: ``media_pipeline.pipeline.asset_process`` on a stored asset:
   fetch the source from MinIO, probe, the same transcode under the runner's
   limits, upload every object, the state machine's writes. Target: wall
   time ≤ 1.10 × bare;
3. per-rendition: one ffmpeg run per rendition (each decodes the source
   again), to compare CPU with the one-pass ladder (expect ~0.7×).

Also prints × realtime (clip seconds / wall seconds) on this machine. Only
ratios compare across machines (DESIGN.md); results go to bench/results/.

On a machine shared with other work, wall times swing by ±50 % between runs;
bare and pipeline therefore run ``--repeat`` times, interleaved, and the
ratios use each side's fastest run (the least disturbed one). CPU seconds
are reported too: they are what the one-pass/per-rendition comparison is about.

    scripts/services up && eval "$(scripts/services env)"   # PostgreSQL + MinIO
    .venv/bin/python bench/video.py           # --seconds 60 --keep DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "wanxue_bench_video"
sys.path.insert(0, str(REPO))


def database_prepare(admin_url: str) -> str:
    import psycopg

    url = admin_url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "settings.dev"},
        check=True,
    )
    return url


def clip_generate(path: Path, seconds: int) -> Path:
    if path.exists():
        return path
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *("-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "5M"),
            *("-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(path)),
        ],
        check=True,
    )
    return path


class Timer:
    """Wall time and CPU seconds of this process plus its finished children."""

    def __enter__(self) -> Timer:
        self.wall = time.monotonic()
        self.cpu = self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self.wall
        self.cpu = self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--keep", type=Path, help="directory to keep the generated clip in")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved bare/pipeline runs")
    args = parser.parse_args()

    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith("postgres"):
        sys.exit('DATABASE_URL must point at PostgreSQL: eval "$(scripts/services env)"')
    os.environ["DATABASE_URL"] = database_prepare(admin_url)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.dev"
    import django

    django.setup()
    from cms.models import Institution
    from media_pipeline import ffmpeg, ladder, pipeline, services, states, storage
    from media_pipeline.limits import media_limits
    from media_pipeline.models import MediaAsset
    from media_pipeline.validation import source_validate

    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    clip_dir = args.keep or work
    clip_dir.mkdir(parents=True, exist_ok=True)
    print(f"generating a {args.seconds} s 1080p clip …", flush=True)
    clip = clip_generate(clip_dir / f"lecture-1080p-{args.seconds}s.mp4", args.seconds)
    limits = media_limits()
    probe = source_validate(clip, limits)
    profile = ladder.DEFAULT_LADDER
    plan = ladder.ladder_plan(profile, probe)
    common: dict[str, Any] = {
        "source": clip,
        "demuxer": probe.demuxer,
        "width": probe.width,
        "height": probe.height,
        "fps": probe.fps,
        "duration_seconds": probe.duration_seconds,
        "profile": profile,
        "limits": limits,
    }

    def out(name: str) -> Path:
        directory = work / name
        for rendition in plan:
            (directory / rendition.name).mkdir(parents=True, exist_ok=True)
        (directory / "poster").mkdir(parents=True, exist_ok=True)
        (directory / "thumbnails").mkdir(parents=True, exist_ok=True)
        return directory

    results: dict[str, dict[str, Any]] = {}

    def run(argv: list[str]) -> None:
        # The same priority the pipeline's runner gives ffmpeg (MEDIA_FFMPEG_NICENESS):
        # on a shared machine a niced ffmpeg gets less CPU, and that is policy,
        # not pipeline overhead.
        subprocess.run(argv, check=True, preexec_fn=lambda: os.nice(limits.niceness))

    print("per-rendition: one ffmpeg run per rendition, plus the stills …", flush=True)
    with Timer() as separate:
        for rendition in plan:
            argv = ffmpeg.transcode_argv(
                plan=[rendition], outdir=out("separate"), with_stills=False, **common
            )
            run(argv)
        run(ffmpeg.thumbnail_argv(outdir=out("separate"), **common))
    results["per_rendition"] = {"wall_s": separate.wall, "cpu_s": separate.cpu}

    institution, _ = Institution.objects.get_or_create(
        code="bench-video", defaults={"name": "基准测试学院", "kind": "partner_college"}
    )
    asset = services.asset_create(
        institution_id=institution.pk, path=clip, original_filename=clip.name
    )
    bare_runs: list[Timer] = []
    pipeline_runs: list[Timer] = []
    for attempt in range(1, args.repeat + 1):
        print(f"[{attempt}/{args.repeat}] bare: one ffmpeg command, the whole ladder …", flush=True)
        with Timer() as bare:
            run(ffmpeg.transcode_argv(plan=plan, outdir=out(f"bare-{attempt}"), **common))
        bare_runs.append(bare)
        print(f"[{attempt}/{args.repeat}] pipeline: fetch, probe, transcode, upload, state …")
        storage.store().objects_delete(pipeline.hls_prefix(asset))
        asset.renditions.all().delete()
        MediaAsset.objects.filter(pk=asset.pk).update(status="pending", attempts=0)
        services.asset_submit(asset)
        with Timer() as whole:
            pipeline.asset_process(asset.pk, holder=states.holder_new())
        asset.refresh_from_db()
        if asset.status != "ready":
            sys.exit(f"pipeline ended {asset.status}: {asset.failure_message}")
        pipeline_runs.append(whole)
    bare = min(bare_runs, key=lambda t: t.wall)
    whole = min(pipeline_runs, key=lambda t: t.wall)
    results["bare_one_pass"] = {
        "wall_s": bare.wall,
        "cpu_s": bare.cpu,
        "all_wall_s": [t.wall for t in bare_runs],
    }
    results["pipeline"] = {
        "wall_s": whole.wall,
        "cpu_s": whole.cpu,
        "all_wall_s": [t.wall for t in pipeline_runs],
    }

    ratios = {
        "pipeline_wall_over_bare": whole.wall / bare.wall,
        "pipeline_cpu_over_bare": whole.cpu / bare.cpu,
        "one_pass_cpu_over_per_rendition": bare.cpu / separate.cpu,
        "one_pass_wall_over_per_rendition": bare.wall / separate.wall,
        "bare_x_realtime": probe.duration_seconds / bare.wall,
        "pipeline_x_realtime": probe.duration_seconds / whole.wall,
    }
    print()
    names = ", ".join(r.name for r in plan)
    print(f"clip: {probe.duration_seconds:.0f} s {probe.width}x{probe.height}; ladder {names}")
    print(f"cores: {os.cpu_count()}")
    for name, numbers in results.items():
        print(f"{name:>16}: wall {numbers['wall_s']:7.1f} s   cpu {numbers['cpu_s']:7.1f} s")
    lines = [
        ("pipeline / bare (wall), target <= 1.10", ratios["pipeline_wall_over_bare"]),
        ("pipeline / bare (CPU)", ratios["pipeline_cpu_over_bare"]),
        ("one pass / per rendition (CPU), expect ~0.7", ratios["one_pass_cpu_over_per_rendition"]),
        ("one pass / per rendition (wall)", ratios["one_pass_wall_over_per_rendition"]),
        ("x realtime, bare", ratios["bare_x_realtime"]),
        ("x realtime, pipeline", ratios["pipeline_x_realtime"]),
    ]
    for label, value in lines:
        print(f"{label:>44}: {value:.3f}")

    destination = REPO / "bench" / "results" / f"video-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    destination.write_text(
        json.dumps(
            {
                "clip_seconds": probe.duration_seconds,
                "ladder": [r.name for r in plan],
                "cpu_count": os.cpu_count(),
                "machine": platform.platform(),
                "load_average_after": os.getloadavg(),
                "results": results,
                "ratios": ratios,
            },
            indent=2,
        )
    )
    print(f"written {destination.relative_to(REPO)}")


if __name__ == "__main__":
    main()
