"""The quick start's object storage: files under MEDIA_ROOT behind URLs the
app signs and serves, with S3's contract (whole objects, expiring URLs,
resumable multipart uploads), so the pipeline runs unchanged on it."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_pipeline import cleanup
from media_pipeline.storage import LocalStore


def test_objects_are_stored_listed_and_deleted_by_key(local_store: LocalStore, tmp_path: Path):
    source = tmp_path / "seg_00000.ts"
    source.write_bytes(b"segment")
    local_store.object_put(source, "media/7/abc/360p/seg_00000.ts")
    local_store.object_bytes_put(b"#EXTM3U\n", "media/7/abc/master.m3u8", "application/x")

    assert local_store.object_keys("media/7/") == [
        "media/7/abc/360p/seg_00000.ts",
        "media/7/abc/master.m3u8",
    ]
    assert local_store.object_get("media/7/abc/master.m3u8") == b"#EXTM3U\n"
    assert local_store.object_size("media/7/abc/360p/seg_00000.ts") == 7
    assert local_store.objects_delete("media/7/abc/") == 2
    assert local_store.object_size("media/7/abc/master.m3u8") is None


def test_working_files_are_never_listed_as_objects(local_store: LocalStore):
    upload_id = local_store.multipart_create("uploads/u1", content_type="video/mp4")
    local_store.part_stream_put(upload_id, 1, io.BytesIO(b"part"), 100)

    assert local_store.objects_listed("") == []
    assert [u["Key"] for u in local_store.multipart_uploads()] == ["uploads/u1"]


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", ".multipart/x", "media//x", ""])
def test_a_key_that_could_leave_the_root_is_refused(local_store: LocalStore, key: str):
    with pytest.raises(ValueError, match="not an object key"):
        local_store.path(key)


def test_a_signed_url_serves_the_object_until_it_expires(local_store: LocalStore, client):
    local_store.object_bytes_put(b"\x47" * 188, "media/7/abc/360p/seg_00000.ts", "video/mp2t")
    url = local_store.presigned_get("media/7/abc/360p/seg_00000.ts", 60)

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp2t"
    assert b"".join(response.streaming_content) == b"\x47" * 188
    assert client.get(url[:-2] + "xx").status_code == 403  # tampered
    expired = local_store.presigned_get("media/7/abc/360p/seg_00000.ts", -1)
    assert client.get(expired).status_code == 403


def test_a_part_url_is_not_a_download_url(local_store: LocalStore, client):
    upload_id = local_store.multipart_create("uploads/u2", content_type="video/mp4")
    part_url = local_store.multipart_part_url("uploads/u2", upload_id, 1, 60)
    token = part_url.rsplit("/", 1)[1]

    assert client.get(f"/storage/o/{token}").status_code == 403


def test_a_form_post_stores_exactly_what_its_policy_allows(local_store: LocalStore, client):
    post = local_store.presigned_post(
        "uploads/u3", content_type="video/mp4", max_bytes=10, expires_in=60
    )

    too_big = client.post(post["url"], {**post["fields"], "file": _file(b"x" * 11)})
    other_type = client.post(
        post["url"], {**post["fields"], "Content-Type": "text/html", "file": _file(b"x")}
    )
    other_key = client.post(
        post["url"], {**post["fields"], "key": "media/1/x", "file": _file(b"x")}
    )
    assert (too_big.status_code, other_type.status_code, other_key.status_code) == (400, 403, 403)
    assert local_store.objects_listed("") == []

    stored = client.post(post["url"], {**post["fields"], "file": _file(b"video")})
    assert stored.status_code == 204
    assert local_store.object_get("uploads/u3") == b"video"


def test_parts_are_joined_in_order_and_a_resent_part_replaces_the_first(
    local_store: LocalStore, client
):
    upload_id = local_store.multipart_create("uploads/u4", content_type="video/mp4")
    for number, body in [(2, b"world"), (1, b"HELLO "), (1, b"hello ")]:
        url = local_store.multipart_part_url("uploads/u4", upload_id, number, 60)
        response = client.put(url, body, content_type="application/octet-stream")
        assert response.status_code == 200

    parts = local_store.multipart_parts("uploads/u4", upload_id)
    assert {number: part["Size"] for number, part in parts.items()} == {1: 6, 2: 5}
    local_store.multipart_complete("uploads/u4", upload_id, parts)

    assert local_store.object_get("uploads/u4") == b"hello world"
    assert local_store.multipart_open("uploads/u4") == []
    # A second completion (its answer was lost) finds the object: no error.
    local_store.multipart_complete("uploads/u4", upload_id, parts)


def test_a_part_for_an_abandoned_upload_is_refused(local_store: LocalStore, client):
    upload_id = local_store.multipart_create("uploads/u5", content_type="video/mp4")
    url = local_store.multipart_part_url("uploads/u5", upload_id, 1, 60)
    local_store.multipart_abort("uploads/u5", upload_id)

    response = client.put(url, b"late", content_type="application/octet-stream")

    assert response.status_code == 404
    assert local_store.objects_listed("") == []


@pytest.mark.django_db
def test_the_cleanup_aborts_abandoned_uploads_on_local_disk_too(local_store: LocalStore):
    upload_id = local_store.multipart_create("uploads/u6", content_type="video/mp4")
    local_store.object_bytes_put(b"x", "uploads/u7", "video/mp4")
    time.sleep(0.01)

    dry = cleanup.storage_cleanup(dry_run=True, age=timedelta(0))
    assert (dry.multipart_aborted, dry.uploads_deleted) == (["uploads/u6"], ["uploads/u7"])
    assert local_store.multipart_parts("uploads/u6", upload_id) == {}  # still open
    assert [u["UploadId"] for u in local_store.multipart_uploads()] == [upload_id]

    cleanup.storage_cleanup(dry_run=False, age=timedelta(0))
    assert (local_store.multipart_uploads(), local_store.objects_listed("")) == ([], [])


def _file(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("lecture.mp4", data, content_type="video/mp4")
