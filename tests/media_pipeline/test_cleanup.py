"""Orphans and abandoned uploads (RELIABILITY U6, U7), on a MinIO of our own:
the shared bucket holds other sessions' objects this test database knows nothing of."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from media_pipeline import cleanup, pipeline, storage, uploads
from media_pipeline.models import MediaAsset
from media_pipeline.storage.s3 import LIFECYCLE_RULES, s3_client
from tests.media_pipeline.factories import asset_stored
from tests.media_pipeline.worker import ThrowawayMinio

pytestmark = [pytest.mark.services, pytest.mark.django_db]

NOW = timedelta(0)  # objects cannot be backdated in MinIO; everything counts as old

QUOTA = 100 * 1024**3  # far above anything a test uploads


def test_lifecycle_rules_abort_incomplete_multipart_uploads(own_minio: ThrowawayMinio) -> None:
    """U6 config test. MinIO stores the rule but drops the multipart part (it
    answers without it), so on MinIO storage_cleanup is what aborts them
    (tested below); on S3 the rule does it as well."""
    s3 = storage.store()
    assert isinstance(s3, storage.S3Store)
    s3.prepare()
    rules = {rule["ID"]: rule for rule in s3.lifecycle_rules()}
    assert rules["expire-upload-attempts"]["Expiration"]["Days"] == 2
    assert LIFECYCLE_RULES[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_cleanup_reports_in_dry_run_then_removes_only_orphans(
    own_minio: ThrowawayMinio, college_a, clip_small: Path, tmp_path: Path
) -> None:
    asset = asset_stored(college_a.pk, clip_small)
    own_output = f"{pipeline.hls_prefix(asset)}360p/index.m3u8"
    stale_output = f"media/{asset.pk}/{'0' * 64}/360p/seg_00000.ts"
    deleted_asset_output = f"media/987654/{'1' * 64}/master.m3u8"
    orphan_source = f"media/{college_a.pk}/sources/{'2' * 64}.mp4"
    orphan_upload = f"uploads/{uuid.uuid4()}"
    for key in (own_output, stale_output, deleted_asset_output, orphan_source, orphan_upload):
        storage.store().object_bytes_put(b"x", key, "application/octet-stream")
    multipart_key = f"uploads/{uuid.uuid4()}"
    client = s3_client()
    client.create_multipart_upload(Bucket="wanxue-media", Key=multipart_key)

    report = cleanup.storage_cleanup(dry_run=True, age=NOW)
    assert report.counts() == {
        "multipart_aborted": 1,
        "uploads_deleted": 1,
        "sources_deleted": 1,
        "outputs_deleted": 2,
        "assets_missing_source": 0,
    }
    assert storage.store().object_size(orphan_source) == 1  # dry run: nothing removed

    cleanup.storage_cleanup(dry_run=False, age=NOW)
    for key in (stale_output, deleted_asset_output, orphan_source, orphan_upload):
        assert storage.store().object_size(key) is None
    assert storage.store().object_size(own_output) == 1  # the asset's own prefix stays
    assert storage.store().object_size(str(asset.source.name)) == clip_small.stat().st_size
    assert storage.store().multipart_uploads() == []


def test_asset_whose_source_vanished_is_flagged_not_deleted(
    own_minio: ThrowawayMinio, college_a, clip_small: Path
) -> None:
    asset = asset_stored(college_a.pk, clip_small)
    storage.store().object_delete(str(asset.source.name))
    report = cleanup.storage_cleanup(dry_run=False, age=NOW)
    assert report.assets_missing_source == [asset.pk]
    assert MediaAsset.objects.filter(pk=asset.pk).exists()


def test_a_pending_resumable_upload_keeps_its_multipart_upload(
    own_minio: ThrowawayMinio, college_a, clip_small: Path
) -> None:
    ticket = uploads.upload_session_create(
        institution_id=college_a.pk,
        filename="long.mp4",
        size_bytes=clip_small.stat().st_size,
        content_type="video/mp4",
        quota_bytes=QUOTA,
    )
    s3_client().create_multipart_upload(Bucket="wanxue-media", Key=ticket.session.key)
    report = cleanup.storage_cleanup(dry_run=False, age=NOW)
    assert report.multipart_aborted == []
    assert [u["Key"] for u in storage.store().multipart_uploads()] == [ticket.session.key]
