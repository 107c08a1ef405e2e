"""The app's side of LocalStore's signed URLs: what MinIO answers in production.

Only mounted to any effect when the store is local (the quick start); with S3
every one of these is a 404. The URLs are capabilities signed by the app, like
presigned S3 URLs, so they need no session and no CSRF token.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from media_pipeline import storage
from media_pipeline.storage.base import content_type_for
from media_pipeline.storage.local import LocalStore, url_claims


def _local() -> LocalStore:
    chosen = storage.store()
    if not isinstance(chosen, LocalStore):
        raise Http404("objects are in S3")
    return chosen


def _signed(purpose: str, token: str) -> tuple[LocalStore, dict[str, Any]]:
    """The local store and the URL's claims; 403 when forged, expired or
    signed for another purpose (a part URL is not a download URL)."""
    local = _local()
    try:
        return local, url_claims(purpose, token)
    except signing.BadSignature as error:
        raise PermissionDenied("This link is invalid or has expired.") from error


def _refused(status: int, reason: str) -> HttpResponse:
    return HttpResponse(reason + "\n", status=status, content_type="text/plain; charset=utf-8")


@require_GET
def object_get(request: HttpRequest, token: str) -> HttpResponseBase:
    local, claims = _signed("get", token)
    path = local.path(claims["k"])
    if not path.is_file():
        return _refused(404, "Not found.")
    response = FileResponse(path.open("rb"), content_type=content_type_for(claims["k"]))
    response["Cache-Control"] = f"private, max-age={max(0, int(claims['e'] - time.time()))}"
    return response


@csrf_exempt
@require_POST
def object_post(request: HttpRequest) -> HttpResponse:
    """A browser form POST like S3's: the policy pins key, type and size."""
    local, policy = _signed("post", request.POST.get("policy", ""))
    if request.POST.get("key") != policy["k"] or request.POST.get("Content-Type") != policy["t"]:
        return _refused(403, "The form does not match its policy.")
    upload = request.FILES.get("file")
    if upload is None:
        return _refused(400, "The form has no file field.")
    if not 1 <= (upload.size or 0) <= policy["m"]:
        return _refused(400, f"The file must have 1 to {policy['m']} bytes.")
    local.object_stream_put(upload, policy["k"], policy["m"])
    return HttpResponse(status=204)


@csrf_exempt
@require_http_methods(["PUT"])
def part_put(request: HttpRequest, token: str) -> HttpResponse:
    """One part of a multipart upload, streamed to disk (never into memory)."""
    local, claims = _signed("part", token)
    try:
        size = local.part_stream_put(
            claims["u"], claims["n"], request, settings.MEDIA_MAX_SOURCE_BYTES
        )
    except FileNotFoundError:
        return _refused(404, "This upload was completed or abandoned; start a new one.")
    except ValueError as error:
        return _refused(413, f"The part is too large ({error}).")
    response = HttpResponse(status=200)
    response["ETag"] = f'"{claims["n"]}-{size}"'
    return response
