"""Staff video uploads through the API: resumable parts straight to MinIO,
then one gate (validation) before anything is queued (issue #4 item 1,
RELIABILITY.md U5, U12, U15)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from media_pipeline import uploads
from media_pipeline.models import AssetStatus, MediaAsset, UploadSession
from tests.media_pipeline import samples

pytestmark = pytest.mark.services

PART = 5 * 1024**2  # S3's smallest part


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A valid 4 s video of ~6 MB: two parts of 5 MiB."""
    data = samples.noise_clip(tmp_path_factory.mktemp("uploads") / "lecture.mp4").read_bytes()
    assert PART < len(data) < 2 * PART
    return data


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.lecture_clip(tmp_path_factory.mktemp("upload-small") / "small.mp4", seconds=2)


@pytest.fixture(autouse=True)
def small_parts(settings):
    settings.MEDIA_UPLOAD_PART_BYTES = PART


@pytest.fixture(autouse=True, params=["minio", "local"])
def object_store(request: pytest.FixtureRequest) -> str:
    """Every upload behaviour holds on MinIO and on the quick start's local disk."""
    if request.param == "local":
        request.getfixturevalue("local_store")
    return str(request.param)


def _served_by_app(url: str) -> bool:
    return url.startswith("http://testserver/")


def _post(client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _start(client, data: bytes, content_type: str = "video/mp4"):
    response = _post(
        client,
        "/api/v1/uploads",
        {"filename": "第一讲.mp4", "size_bytes": len(data), "content_type": content_type},
    )
    assert response.status_code == 201, response.content
    return response.json()


def _put(client, url: str, data: bytes) -> int:
    if _served_by_app(url):
        return int(client.put(url, data, content_type="application/octet-stream").status_code)
    request = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def _complete(client, upload: dict) -> dict:
    """Complete (202: a worker takes it), do the worker's half here, then
    read the session as a polling client does."""
    accepted = _post(client, f"/api/v1/uploads/{upload['id']}/complete")
    assert accepted.status_code == 202, accepted.content
    assert accepted.json()["status"] == "finalizing"
    uploads.upload_finalize(upload["id"])
    state = client.get(f"/api/v1/uploads/{upload['id']}").json()
    again = _post(client, f"/api/v1/uploads/{upload['id']}/complete")  # harmless, and 200 now
    assert (again.status_code, again.json()["asset_id"]) == (200, state["asset_id"])
    assert state["asset_url"].endswith(f"/admin/media_assets/inspect/{state['asset_id']}/")
    return dict(state)


def _send_parts(client, upload: dict, data: bytes, numbers: list[int]) -> None:
    urls = _post(client, f"/api/v1/uploads/{upload['id']}/parts", {"numbers": numbers}).json()
    for number in numbers:
        chunk = data[(number - 1) * PART : number * PART]
        assert _put(client, urls["urls"][str(number)], chunk) == 200


def test_a_video_uploaded_in_parts_resumes_and_is_queued(client_for, editor_a, college_a, big_clip):
    client = client_for(editor_a)
    upload = _start(client, big_clip)
    assert (upload["part_count"], upload["parts_done"]) == (2, [])

    _send_parts(client, upload, big_clip, [1])
    # The connection drops; later the client asks what arrived and resumes.
    resumed = client.get(f"/api/v1/uploads/{upload['id']}").json()
    assert resumed["parts_done"] == [1]
    _send_parts(client, upload, big_clip, [2])
    done = _complete(client, upload)

    assert done["status"] == "finalized"
    asset = MediaAsset.objects.get(pk=done["asset_id"])
    assert (asset.institution_id, asset.status, asset.size_bytes) == (
        college_a.pk,
        AssetStatus.QUEUED,
        len(big_clip),
    )
    assert asset.original_filename == "第一讲.mp4"


def test_completing_with_a_part_missing_is_refused_and_queues_nothing(
    client_for, editor_a, big_clip
):
    client = client_for(editor_a)
    upload = _start(client, big_clip)
    _send_parts(client, upload, big_clip, [1])

    response = _post(client, f"/api/v1/uploads/{upload['id']}/complete")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "missing" in response.json()["detail"]
    assert not MediaAsset.objects.exists()


def test_a_file_that_is_not_a_video_is_refused_by_its_probe(client_for, editor_a):
    client = client_for(editor_a)
    fake = b"#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n" * 10  # RELIABILITY M1, named .mp4
    upload = _start(client, fake)
    _send_parts(client, upload, fake, [1])

    accepted = _post(client, f"/api/v1/uploads/{upload['id']}/complete")
    assert (accepted.status_code, accepted.json()["status"]) == (202, "finalizing")
    uploads.upload_finalize(upload["id"])  # the worker's half

    state = client.get(f"/api/v1/uploads/{upload['id']}").json()
    assert (state["status"], state["asset_id"]) == ("refused", None)
    assert state["failure"]["code"] == "unsupported_container"
    again = _post(client, f"/api/v1/uploads/{upload['id']}/complete")
    assert (again.status_code, again.json()["detail"]) == (422, state["failure"]["message"])
    assert not MediaAsset.objects.exists()


def test_another_colleges_editor_cannot_see_or_finish_an_upload(
    client_for, editor_a, editor_b, big_clip
):
    upload = _start(client_for(editor_a), big_clip)
    client = client_for(editor_b)

    assert client.get(f"/api/v1/uploads/{upload['id']}").status_code == 404
    parts = _post(client, f"/api/v1/uploads/{upload['id']}/parts", {"numbers": [1]})
    assert parts.status_code == 404
    assert _post(client, f"/api/v1/uploads/{upload['id']}/complete").status_code == 404


def test_uploads_need_an_editor_session(client, client_for, reviewer_a, db):
    body = {"filename": "a.mp4", "size_bytes": 10, "content_type": "video/mp4"}

    assert _post(client, "/api/v1/uploads", body).status_code == 401
    assert _post(client_for(reviewer_a), "/api/v1/uploads", body).status_code == 403
    assert not UploadSession.objects.exists()


@pytest.mark.parametrize(
    ("size", "content_type", "kind"),
    [(10**13, "video/mp4", "too-large"), (10, "text/html", "unsupported-type")],
)
def test_declared_size_and_type_are_checked_before_any_url_is_issued(
    client_for, editor_a, size, content_type, kind
):
    body = {"filename": "x.mp4", "size_bytes": size, "content_type": content_type}

    response = _post(client_for(editor_a), "/api/v1/uploads", body)

    assert response.status_code == 422
    assert response.json()["type"].endswith(kind)


def _form_post(client, url: str, fields: dict[str, str], data: bytes) -> int:
    if _served_by_app(url):
        file = SimpleUploadedFile("x", data, content_type=fields["Content-Type"])
        return int(client.post(url, {**fields, "file": file}).status_code)
    boundary = "wanxue-test-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    body += (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x"\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_a_small_file_may_come_as_one_post_instead(client_for, editor_a, small_clip):
    from media_pipeline import storage

    client = client_for(editor_a)
    data = small_clip.read_bytes()
    upload = _start(client, data)

    assert _form_post(client, upload["post"]["url"], upload["post"]["fields"], data) == 204
    done = _complete(client, upload)

    assert MediaAsset.objects.get(pk=done["asset_id"]).status == AssetStatus.QUEUED
    key = UploadSession.objects.get(pk=upload["id"]).key
    assert storage.store().multipart_open(key) == []  # the unused multipart upload is gone


def test_a_college_over_its_video_quota_is_refused_before_any_url(
    client_for, editor_a, college_a, big_clip
):
    college_a.media_quota_gib = 0
    college_a.save(update_fields=["media_quota_gib"])

    response = _post(
        client_for(editor_a),
        "/api/v1/uploads",
        {"filename": "a.mp4", "size_bytes": len(big_clip), "content_type": "video/mp4"},
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith("quota-exceeded")
    assert "quota" in response.json()["detail"]
    assert not UploadSession.objects.exists()
