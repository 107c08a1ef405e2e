"""Video uploads for staff: straight to object storage, in resumable parts.

The admin's upload screen and any other staff client use these endpoints
(session auth with CSRF, as in the admin). A session is opened here; the
bytes go to storage through presigned URLs (one POST for the whole file, or
one PUT per part, resumable); ``complete`` checks the object is whole and
hands it to a worker for the one gate every upload passes
(``media_pipeline.uploads.upload_finalize``: ffprobe validation, content hash,
then the transcode is queued). The client polls ``GET /uploads/{id}`` until
it is ``finalized`` (with the asset) or ``refused`` (with the reason).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Schema
from ninja.security import SessionAuth
from pydantic import Field

from cms.api.http import PRIVATE_CACHE_CONTROL, json_response
from cms.api.inputs import Code
from cms.api.problems import ApiProblem
from cms.api.schemas import Problem
from cms.models import Institution
from cms.tenancy import institution_ids_for_user, is_network_admin
from media_pipeline import multipart, storage
from media_pipeline.errors import MediaRefused
from media_pipeline.models import UploadSession, UploadStatus
from media_pipeline.uploads import upload_complete as upload_session_complete
from media_pipeline.uploads import upload_session_create


class StaffSession(SessionAuth):
    """A signed-in editor (or network admin), with Django's CSRF check."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not (is_network_admin(user) or institution_ids_for_user(user, role="editor")):
            raise ApiProblem(403, "Forbidden", "Only editors upload media.")
        return user


router = Router(tags=["uploads"], auth=StaffSession())
ERRORS = {400: Problem, 401: Problem, 403: Problem, 404: Problem, 422: Problem, 503: Problem}


class UploadStart(Schema):
    filename: str = Field(min_length=1, max_length=255, description="Shown to people only.")
    size_bytes: int = Field(ge=1, le=2**63 - 1)
    content_type: str = Field(min_length=1, max_length=64, description="e.g. `video/mp4`.")
    institution: Code | None = Field(
        None, description="Owning institution's code; needed if you edit for several."
    )


class PresignedPost(Schema):
    url: str
    fields: dict[str, str]


class UploadFailure(Schema):
    code: str
    message: str


class UploadOut(Schema):
    id: uuid.UUID
    status: str = Field(
        description="`pending` (send parts, then complete), `finalizing` (a worker checks "
        "the video: poll), `finalized` (see `asset_id`) or `refused` (see `failure`)."
    )
    asset_id: int | None = Field(description="The video, once finalized.")
    asset_url: str | None = Field(description="Where the admin shows its transcode's progress.")
    failure: UploadFailure | None = Field(
        description="Why it was refused, or (back to pending) why checking it stopped."
    )
    part_bytes: int = Field(description="Every part but the last has exactly this size.")
    part_count: int
    parts_done: list[int] = Field(description="Parts already stored: send only the others.")
    post: PresignedPost | None = Field(
        description="Alternative for files up to 5 GiB: one form POST of the whole file."
    )


class PartsRequest(Schema):
    numbers: list[int] = Field(min_length=1, max_length=multipart.MAX_PART_URLS)


class PartsOut(Schema):
    urls: dict[str, str] = Field(description="Part number → presigned URL to PUT it to.")


def _institution_id(request: HttpRequest, code: str | None) -> int:
    user = request.auth  # type: ignore[attr-defined]
    if is_network_admin(user):
        if code is None:
            raise ApiProblem(400, "Institution needed", "Say which institution owns the video.")
        found = Institution.objects.filter(code=code).values_list("pk", flat=True).first()
        if found is None:
            raise ApiProblem(400, "Unknown institution", f"No institution {code}.")
        return found
    allowed = institution_ids_for_user(user, role="editor")
    if code is not None:
        mine = Institution.objects.filter(code=code, pk__in=allowed).values_list("pk", flat=True)
        if not mine:
            raise ApiProblem(403, "Forbidden", f"You do not edit for {code}.")
        return mine[0]
    if len(allowed) != 1:
        raise ApiProblem(400, "Institution needed", "You edit for several; say which one.")
    return next(iter(allowed))


def _session(request: HttpRequest, upload_id: uuid.UUID) -> UploadSession:
    user = request.auth  # type: ignore[attr-defined]
    sessions = UploadSession.objects.filter(pk=upload_id)
    if not is_network_admin(user):
        sessions = sessions.filter(institution_id__in=institution_ids_for_user(user))
    session = sessions.first()
    if session is None:  # another college's upload looks like no upload (U12)
        raise ApiProblem(404, "Not found", f"No upload {upload_id}.")
    return session


def _refused(error: MediaRefused) -> ApiProblem:
    # Over quota is not the file's fault: the college may not store more (U11).
    status = 403 if error.code == "quota_exceeded" else 422
    return ApiProblem(status, "Upload refused", error.message, kind=error.code.replace("_", "-"))


def _upload_out(
    request: HttpRequest, session: UploadSession, post: dict[str, Any] | None
) -> dict[str, Any]:
    asset_url = (
        request.build_absolute_uri(f"/admin/media_assets/inspect/{session.asset_id}/")
        if session.asset_id
        else None
    )
    failure = (
        {"code": session.failure_code, "message": session.failure_message}
        if session.failure_code
        else None
    )
    return {
        "id": session.pk,
        "status": session.status,
        "asset_id": session.asset_id,
        "asset_url": asset_url,
        "failure": failure,
        **multipart.parts_state(session),
        "post": post,
    }


@router.post("/uploads", response={201: UploadOut, **ERRORS}, operation_id="upload_start")
def upload_start(request: HttpRequest, body: UploadStart) -> HttpResponse:
    """Open an upload: get its part size, and a one-shot POST as an alternative."""
    try:
        institution_id = _institution_id(request, body.institution)
        ticket = upload_session_create(
            institution_id=institution_id,
            filename=body.filename,
            size_bytes=body.size_bytes,
            content_type=body.content_type,
            quota_bytes=Institution.objects.get(pk=institution_id).media_quota_bytes(),
        )
        multipart.parts_open(ticket.session)
    except MediaRefused as error:
        raise _refused(error) from error
    except storage.TRANSIENT_ERRORS as error:
        raise ApiProblem(503, "Storage unavailable", "Try again in a moment.") from error
    # Absolute: on the quick start's local disk the store's URLs are the app's own paths.
    post = {"url": request.build_absolute_uri(ticket.url), "fields": ticket.fields}
    data = _upload_out(request, ticket.session, post)
    response = json_response(request, data, cache_control=PRIVATE_CACHE_CONTROL)
    response.status_code = 201
    return response


@router.get("/uploads/{upload_id}", response={200: UploadOut, **ERRORS}, operation_id="upload_get")
def upload_get(request: HttpRequest, upload_id: Path[uuid.UUID]) -> HttpResponse:
    """Where an upload stands: resume by sending the parts not in `parts_done`."""
    session = _session(request, upload_id)
    return json_response(
        request, _upload_out(request, session, None), cache_control=PRIVATE_CACHE_CONTROL
    )


@router.post(
    "/uploads/{upload_id}/parts", response={200: PartsOut, **ERRORS}, operation_id="upload_parts"
)
def upload_parts(request: HttpRequest, upload_id: Path[uuid.UUID], body: PartsRequest) -> Any:
    """Presigned URLs to PUT these parts to (valid 15 minutes; ask again as you go)."""
    session = _session(request, upload_id)
    try:
        urls = multipart.part_urls(session, body.numbers)
    except MediaRefused as error:
        raise _refused(error) from error
    except storage.TRANSIENT_ERRORS as error:
        raise ApiProblem(503, "Storage unavailable", "Try again in a moment.") from error
    return json_response(
        request,
        {"urls": {str(number): request.build_absolute_uri(url) for number, url in urls.items()}},
        cache_control=PRIVATE_CACHE_CONTROL,
    )


@router.post(
    "/uploads/{upload_id}/complete",
    response={200: UploadOut, 202: UploadOut, **ERRORS},
    operation_id="upload_complete",
)
def upload_complete(request: HttpRequest, upload_id: Path[uuid.UUID]) -> HttpResponse:
    """Join the parts (if sent in parts) and hand the file to a worker that
    validates it and queues its transcode: 202, then poll `GET /uploads/{id}`.
    Calling it again is harmless (200 once finalized)."""
    session = _session(request, upload_id)
    try:
        if session.status == UploadStatus.PENDING:
            multipart.parts_finish(session)
        session = upload_session_complete(
            session_id=session.pk, institution_id=session.institution_id
        )
    except MediaRefused as error:
        raise _refused(error) from error
    except PermissionDenied as error:
        raise ApiProblem(404, "Not found", f"No upload {upload_id}.") from error
    except storage.TRANSIENT_ERRORS as error:
        raise ApiProblem(503, "Storage unavailable", "Try again in a moment.") from error
    if session.status == UploadStatus.REFUSED:
        raise _refused(MediaRefused(session.failure_code, session.failure_message))
    response = json_response(
        request, _upload_out(request, session, None), cache_control=PRIVATE_CACHE_CONTROL
    )
    response.status_code = 200 if session.status == UploadStatus.FINALIZED else 202
    return response
