"""JSON responses with a strong ETag, 304 revalidation and Cache-Control.

The ETag is a hash of the exact bytes sent, so it changes exactly when what a
response shows changes: an outline's ETag moves when another college edits a
resource the outline lists, and stays put when someone saves a draft or edits
an unrelated resource. Building the body to hash it costs as much as a 200;
``response_cache.py`` keeps built bodies so a revalidation skips that work.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse

# Shared caches (CDN) may keep public content for a minute and serve it stale
# for another while they revalidate: publishing shows within ~2 minutes, and
# revalidation is cheap (304) thanks to the strong ETag.
PUBLIC_CACHE_CONTROL = "public, max-age=60, stale-while-revalidate=60"
PRIVATE_CACHE_CONTROL = "private, no-store"


def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def if_none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags, or ``*``."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def json_response(
    request: HttpRequest,
    data: Any,
    *,
    cache_control: str = PUBLIC_CACHE_CONTROL,
) -> HttpResponse:
    body = json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    ).encode()
    return body_response(request, body, etag_for(body), cache_control=cache_control)


def body_response(
    request: HttpRequest,
    body: bytes,
    etag: str,
    *,
    cache_control: str = PUBLIC_CACHE_CONTROL,
    content_type: str = "application/json",
) -> HttpResponse:
    """``body``, or ``304`` when the client already holds ``etag``."""
    if if_none_match(request.headers.get("If-None-Match"), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    return response
