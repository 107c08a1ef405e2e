"""Direct uploads to MinIO with presigned POSTs, and finalize (RELIABILITY B4)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from django.core.exceptions import PermissionDenied

from media_pipeline import selectors, storage, tasks, uploads
from media_pipeline.errors import MediaRefused
from media_pipeline.models import (
    AssetStatus,
    MediaAsset,
    OutboxMessage,
    UploadSession,
    UploadStatus,
)
from media_pipeline.services import TRANSCODE_TASK
from tests.media_pipeline import samples

pytestmark = [pytest.mark.services, pytest.mark.django_db]

QUOTA = 100 * 1024**3  # far above anything a test uploads


def _post(ticket: uploads.UploadTicket, data: bytes, **field_changes: str) -> int:
    fields = {**ticket.fields, **field_changes}
    response = requests.post(ticket.url, data=fields, files={"file": ("x", data)}, timeout=30)
    return response.status_code


def _ticket(college, clip: Path, **kwargs) -> uploads.UploadTicket:
    return uploads.upload_session_create(
        institution_id=college.pk,
        filename="第三章 讲义.mp4",
        size_bytes=kwargs.pop("size_bytes", clip.stat().st_size),
        content_type=kwargs.pop("content_type", "video/mp4"),
        quota_bytes=kwargs.pop("quota_bytes", QUOTA),
        **kwargs,
    )


def _finalize(ticket: uploads.UploadTicket) -> MediaAsset:
    """The request's half (complete), then the worker's (finalize); a refusal raises."""
    session = uploads.upload_complete(
        session_id=ticket.session.id, institution_id=ticket.session.institution_id
    )
    asset = uploads.upload_finalize(session.pk)
    session.refresh_from_db()
    if session.status == UploadStatus.REFUSED:
        raise MediaRefused(session.failure_code, session.failure_message)
    assert asset is not None and session.asset_id == asset.pk
    return asset


def test_a_college_at_its_quota_gets_no_upload_url(college_a, college_b, clip_small: Path) -> None:
    size = clip_small.stat().st_size
    first = _ticket(college_a, clip_small, quota_bytes=2 * size)
    _ticket(college_a, clip_small, quota_bytes=2 * size)  # open uploads reserve their size

    with pytest.raises(MediaRefused) as refused:
        _ticket(college_a, clip_small, quota_bytes=2 * size)

    assert refused.value.code == "quota_exceeded"
    assert "storage quota" in refused.value.message
    assert UploadSession.objects.filter(institution=college_a).count() == 2
    assert _ticket(college_b, clip_small, quota_bytes=2 * size)  # another college's quota
    # A finalized upload counts once, as its asset.
    assert _post(first, clip_small.read_bytes()) == 204
    _finalize(first)
    assert selectors.institution_media_bytes(college_a.pk) == 2 * size


def test_upload_then_finalize_queues_an_asset(college_a, clip_small: Path) -> None:
    ticket = _ticket(college_a, clip_small)
    assert ticket.session.key == f"uploads/{ticket.session.id}"
    assert _post(ticket, clip_small.read_bytes()) == 204
    asset = _finalize(ticket)
    assert (asset.status, asset.original_filename) == (AssetStatus.QUEUED, "第三章 讲义.mp4")
    assert OutboxMessage.objects.filter(args=[asset.pk]).count() == 1
    assert storage.store().object_size(ticket.session.key) is None  # the per-attempt object is gone
    assert storage.store().object_size(str(asset.source.name)) == clip_small.stat().st_size
    session = UploadSession.objects.get(pk=ticket.session.id)
    assert (session.status, session.asset_id) == (UploadStatus.FINALIZED, asset.pk)


def test_one_byte_over_the_announced_size_is_rejected_by_storage(
    college_a, clip_small: Path
) -> None:
    """U1: content-length-range; the session stays pending, finalize finds nothing."""
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes() + b"x") == 400
    with pytest.raises(MediaRefused) as refused:
        _finalize(ticket)
    assert refused.value.code == "upload_missing"


def test_other_content_type_or_key_is_rejected_by_the_policy(college_a, clip_small: Path) -> None:
    """U2."""
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes(), **{"Content-Type": "text/html"}) == 403
    assert _post(ticket, clip_small.read_bytes(), key="media/1/sources/evil.mp4") == 403


def test_expired_upload_url_is_refused(college_a, clip_small: Path) -> None:
    """U3."""
    ticket = _ticket(college_a, clip_small, expires_in=1)
    time.sleep(2.5)
    assert _post(ticket, clip_small.read_bytes()) == 403


def test_finalize_checks_the_size_and_runs_the_same_validation(
    college_a, clip_small: Path, tmp_path: Path
) -> None:
    """U5 and U15: a short object, then a hostile one, each refused with a reason."""
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes()[:1000]) == 204
    with pytest.raises(MediaRefused) as refused:
        _finalize(ticket)
    assert refused.value.code == "upload_size"

    hostile = samples.hls_playlist_disguised(tmp_path / "m1.mp4", "file:///etc/passwd")
    ticket = _ticket(college_a, hostile)
    assert _post(ticket, hostile.read_bytes()) == 204
    with pytest.raises(MediaRefused) as refused:
        _finalize(ticket)
    assert refused.value.code == "unsupported_container"
    assert not OutboxMessage.objects.filter(task_name=TRANSCODE_TASK).exists()


def test_finalize_twice_or_by_another_institution_is_refused(
    college_a, college_b, clip_small: Path
) -> None:
    """U4 (a session finalizes once) and U12 (IDOR)."""
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes()) == 204
    with pytest.raises(PermissionDenied):
        uploads.upload_complete(session_id=ticket.session.id, institution_id=college_b.pk)
    asset = _finalize(ticket)
    assert _post(ticket, b"overwrite attempt") == 204  # the URL still works until expiry…
    # …but cannot become a source again: the session stays finalized as it was.
    again = uploads.upload_complete(session_id=ticket.session.id, institution_id=college_a.pk)
    assert (again.status, again.asset_id) == (UploadStatus.FINALIZED, asset.pk)
    assert uploads.upload_finalize(ticket.session.id) is None
    assert MediaAsset.objects.count() == 1


def test_session_refuses_oversized_or_undeclared_files_before_any_url(college_a) -> None:
    with pytest.raises(MediaRefused) as refused:
        uploads.upload_session_create(
            institution_id=college_a.pk,
            filename="x.mp4",
            size_bytes=10**13,
            content_type="video/mp4",
            quota_bytes=QUOTA,
        )
    assert refused.value.code == "too_large"
    with pytest.raises(MediaRefused) as refused:
        uploads.upload_session_create(
            institution_id=college_a.pk,
            filename="x.exe",
            size_bytes=10,
            content_type="text/html",
            quota_bytes=QUOTA,
        )
    assert refused.value.code == "unsupported_type"
    assert UploadSession.objects.count() == 0


def test_complete_hands_the_file_to_one_worker_task_however_often_it_is_called(
    college_a, clip_small: Path
) -> None:
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes()) == 204

    first = uploads.upload_complete(session_id=ticket.session.id, institution_id=college_a.pk)
    second = uploads.upload_complete(session_id=ticket.session.id, institution_id=college_a.pk)

    assert (first.status, second.status) == (UploadStatus.FINALIZING, UploadStatus.FINALIZING)
    queued = OutboxMessage.objects.filter(task_name=uploads.FINALIZE_TASK)
    assert list(queued.values_list("args", flat=True)) == [[str(ticket.session.id)]]


def test_the_finalize_task_run_twice_makes_one_asset(college_a, clip_small: Path) -> None:
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes()) == 204
    uploads.upload_complete(session_id=ticket.session.id, institution_id=college_a.pk)

    first = tasks.upload_finalize_task.apply(args=[str(ticket.session.id)]).get()
    second = tasks.upload_finalize_task.apply(args=[str(ticket.session.id)]).get()

    assert (MediaAsset.objects.get().pk, second) == (first, None)
    assert OutboxMessage.objects.filter(task_name=TRANSCODE_TASK).count() == 1


def test_a_finalize_that_gave_up_can_be_completed_again(college_a, clip_small: Path) -> None:
    ticket = _ticket(college_a, clip_small)
    assert _post(ticket, clip_small.read_bytes()) == 204
    uploads.upload_complete(session_id=ticket.session.id, institution_id=college_a.pk)

    assert uploads.upload_reopen(ticket.session.id, "Storage was unavailable.")
    reopened = UploadSession.objects.get(pk=ticket.session.id)
    assert (reopened.status, reopened.failure_code) == (UploadStatus.PENDING, "storage")

    asset = _finalize(ticket)
    assert asset.status == AssetStatus.QUEUED
