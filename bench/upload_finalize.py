"""Benchmark: what an upload's ``complete`` costs in the request, against the
worker's finalize it hands the file to, on one upload of ``--gib`` GiB.

Finalizing downloads the upload from MinIO, ffprobes it, hashes it and stores
it again under its hash: too slow for a request at lecture sizes (issue #4,
docs/media_pipeline.md "Upload sessions"). The upload is a real 4 s H.264 clip
(faststart) padded with random bytes to the size, which ffprobe accepts.
Prints seconds per GiB for the worker's half and the request's share of the
whole (the ratio that matters: it should be ~0 and stay flat with size).

    scripts/services up && eval "$(scripts/services env)"   # PostgreSQL + MinIO
    .venv/bin/python bench/upload_finalize.py --gib 1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from video import Timer, database_prepare  # bench/video.py; it puts the repo on sys.path

PAD_CHUNK = 64 * 1024**2


def upload_make(path: Path, size_bytes: int) -> Path:
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "4"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)),
        ],
        check=True,
    )
    with path.open("ab") as handle:
        while (left := size_bytes - handle.tell()) > 0:
            handle.write(os.urandom(min(PAD_CHUNK, left)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith("postgres") or not os.environ.get("S3_BUCKET"):
        sys.exit('needs PostgreSQL and MinIO: eval "$(scripts/services env)"')
    os.environ["DATABASE_URL"] = database_prepare(admin_url)
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings.dev"
    import django

    django.setup()
    from cms.models import Institution
    from media_pipeline import storage, uploads
    from media_pipeline.models import MediaAsset

    size = int(args.gib * 1024**3)
    institution, _ = Institution.objects.get_or_create(
        code="bench-upload", defaults={"name": "上传基准学院", "kind": "partner_college"}
    )

    def measured(size_bytes: int) -> tuple[Timer, Timer]:
        with tempfile.TemporaryDirectory(prefix="wanxue-bench-upload-") as work:
            path = upload_make(Path(work) / "lecture.mp4", size_bytes)
            ticket = uploads.upload_session_create(
                institution_id=institution.pk,
                filename=path.name,
                size_bytes=size_bytes,
                content_type="video/mp4",
                quota_bytes=10 * size_bytes,
            )
            storage.store().object_put(path, ticket.session.key)  # what the client sends
            with Timer() as request:
                uploads.upload_complete(session_id=ticket.session.pk, institution_id=institution.pk)
            with Timer() as worker:
                asset = uploads.upload_finalize(ticket.session.pk)
        assert asset is not None, "the padded clip was refused"
        storage.store().object_delete(str(asset.source.name))
        MediaAsset.objects.filter(pk=asset.pk).delete()
        return request, worker

    measured(2 * 1024**2)  # warm up: clients and connections, as in a running server
    request, worker = measured(size)

    gib = size / 1024**3
    print(f"upload: {gib:.2f} GiB")
    print(f"  request (complete): {request.wall * 1000:8.1f} ms")
    print(f"  worker (finalize):  {worker.wall:8.1f} s   ({worker.wall / gib:.1f} s per GiB)")
    print(f"  request / (request + worker): {request.wall / (request.wall + worker.wall):.4f}")


if __name__ == "__main__":
    main()
