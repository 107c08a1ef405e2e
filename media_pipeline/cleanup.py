"""Storage hygiene for the pipeline's prefixes (RELIABILITY.md U6, U7).

Looks only under ``uploads/`` and ``media/`` (images and documents share the
bucket and are not ours). Everything it would remove is reported; with
``dry_run`` (the default) nothing is removed. It never deletes a source or an
HLS prefix that belongs to an existing asset, so nothing a resource (published
or not) points at can disappear.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from media_pipeline import storage
from media_pipeline.models import MediaAsset, UploadSession, UploadStatus

logger = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(hours=24)
_OUTPUT_KEY = re.compile(r"^media/(?P<asset>\d+)/(?P<sha>[0-9a-f]{64})/")
_SOURCE_KEY = re.compile(r"^media/\d+/sources/(?P<sha>[0-9a-f]{64})\.")


@dataclass
class CleanupReport:
    dry_run: bool
    multipart_aborted: list[str] = field(default_factory=list)
    uploads_deleted: list[str] = field(default_factory=list)
    sources_deleted: list[str] = field(default_factory=list)
    outputs_deleted: list[str] = field(default_factory=list)
    assets_missing_source: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "multipart_aborted": len(self.multipart_aborted),
            "uploads_deleted": len(self.uploads_deleted),
            "sources_deleted": len(self.sources_deleted),
            "outputs_deleted": len(self.outputs_deleted),
            "assets_missing_source": len(self.assets_missing_source),
        }


def _old(modified: datetime, now: datetime, age: timedelta) -> bool:
    return now - modified > age


def storage_cleanup(*, dry_run: bool = True, age: timedelta = ORPHAN_AGE) -> CleanupReport:
    now = timezone.now()
    report = CleanupReport(dry_run=dry_run)

    # A resumable upload (media_pipeline/multipart.py) may take longer than
    # ``age``: its session, while pending and unexpired, protects its parts.
    pending = set(
        UploadSession.objects.filter(
            status__in=[UploadStatus.PENDING, UploadStatus.FINALIZING], expires_at__gt=now - age
        ).values_list("key", flat=True)
    )
    for upload in storage.store().multipart_uploads():
        key = upload["Key"]
        if (
            key.startswith(("uploads/", "media/"))
            and key not in pending
            and _old(upload["Initiated"], now, age)
        ):
            report.multipart_aborted.append(key)
            if not dry_run:
                storage.store().multipart_abort(key, upload["UploadId"])
    for item in storage.store().objects_listed("uploads/"):
        if item["Key"] not in pending and _old(item["LastModified"], now, age):
            report.uploads_deleted.append(item["Key"])

    assets = {
        pk: (sha, source)
        for pk, sha, source in MediaAsset.objects.values_list("pk", "sha256", "source")
    }
    known_shas = {sha for sha, _ in assets.values()}
    for item in storage.store().objects_listed("media/"):
        key = item["Key"]
        if not _old(item["LastModified"], now, age):
            continue  # an upload or a transcode may be writing it right now
        source = _SOURCE_KEY.match(key)
        if source is not None:
            if source.group("sha") not in known_shas:
                report.sources_deleted.append(key)
            continue
        output = _OUTPUT_KEY.match(key)
        if output is not None:
            owner = assets.get(int(output.group("asset")))
            if owner is None or owner[0] != output.group("sha"):
                report.outputs_deleted.append(key)

    if not dry_run:
        for key in report.uploads_deleted + report.sources_deleted + report.outputs_deleted:
            storage.store().object_delete(key)

    for pk, (_, source_name) in assets.items():
        if source_name and storage.store().object_size(source_name) is None:
            report.assets_missing_source.append(pk)  # flagged, never deleted
    if any(report.counts().values()):
        logger.warning("storage cleanup (dry_run=%s): %s", dry_run, report.counts())
    return report
