"""Draft preview tokens: a short-lived signed link to one revision.

Reviewers open drafts on a phone, in the mini program, without an admin
session: the token itself is the permission. It names one revision (not the
object), so a later edit is not visible through an old link, and it expires
after ``PREVIEW_TTL_SECONDS``. Tokens are signed with SECRET_KEY under their
own salt; nothing is stored, so there is nothing to clean up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Revision

from cms.models import ChapterPage, CoursePage, Resource
from cms.tenancy import (
    institution_ids_for_user,
    is_network_admin,
    pages_in_institutions,
    resources_editable_by,
)

from .problems import ApiProblem

PREVIEW_SALT = "cms.api.preview"
# Long enough to scan a QR code and read a chapter; short enough that a link
# forwarded out of the review group goes stale the same afternoon.
PREVIEW_TTL_SECONDS = 15 * 60


def preview_token_create(*, revision: Revision) -> tuple[str, datetime]:
    """A token for ``revision`` and the instant it stops working."""
    token = signing.dumps({"r": revision.pk}, salt=PREVIEW_SALT, compress=False)
    return token, timezone.now() + timedelta(seconds=PREVIEW_TTL_SECONDS)


def preview_link(request: HttpRequest, *, revision: Revision) -> dict[str, Any]:
    """The API URL a phone opens (or a QR code carries) to see ``revision``."""
    token, expires_at = preview_token_create(revision=revision)
    url = request.build_absolute_uri(
        reverse("api-v1:preview_get") + "?" + urlencode({"token": token})
    )
    return {"token": token, "url": url, "expires_at": expires_at}


def preview_revision_get(*, token: str) -> Revision:
    try:
        payload = signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_TTL_SECONDS)
    except signing.SignatureExpired as error:
        raise ApiProblem(
            403,
            "Preview link expired",
            "Ask for a new preview link in the admin.",
            kind="preview-expired",
        ) from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ApiProblem(403, "Invalid preview link", kind="preview-invalid") from error
    revision = (
        Revision.objects.select_related("content_type").filter(pk=payload.get("r")).first()
        if isinstance(payload, dict)
        else None
    )
    if revision is None:
        raise ApiProblem(404, "Not found", "The previewed revision no longer exists.")
    return revision


def user_may_preview(user: Any, revision: Revision) -> bool:
    """Staff may hand out links only to what they may edit themselves."""
    if not user.is_authenticated:
        return False
    if is_network_admin(user):
        return True
    model = revision.content_type.model_class()
    if model is Resource:
        return resources_editable_by(user).filter(pk=revision.object_id).exists()
    if model in (CoursePage, ChapterPage):
        pages = pages_in_institutions(institution_ids_for_user(user))
        return pages.filter(pk=revision.object_id).exists()
    return False
