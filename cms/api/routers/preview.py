"""Draft preview: a signed link for staff to hand out, and the preview itself."""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Schema
from pydantic import Field
from wagtail.models import Page, Revision

from cms import selectors
from cms.api import presenters
from cms.api.http import PRIVATE_CACHE_CONTROL, json_response
from cms.api.inputs import ObjectId
from cms.api.preview import preview_link, preview_revision_get, user_may_preview
from cms.api.problems import ApiProblem
from cms.api.schemas import PreviewLink, PreviewOut, Problem
from cms.models import ChapterPage, CoursePage, Resource

router = Router(tags=["preview"])


class PreviewParams(Schema):
    token: str = Field(..., min_length=1, max_length=512)


def _chapter_preview(chapter: ChapterPage) -> dict[str, Any]:
    # The revision's own resource list, in its order, as the editor left it.
    links = sorted(chapter.chapter_resources.all(), key=lambda link: link.sort_order or 0)
    summaries = selectors.resource_summary_rows([link.resource_id for link in links])
    chapter.resource_rows = [
        summaries[link.resource_id] for link in links if link.resource_id in summaries
    ]
    parent = Page.objects.filter(
        path=chapter.path[: -Page.steplen], depth=chapter.depth - 1
    ).first()
    chapter.course_id = parent.pk if parent else 0
    return presenters.chapter_out(chapter)


@router.get(
    "/preview",
    response={
        200: PreviewOut,
        304: None,
        400: Problem,
        401: Problem,
        403: Problem,
        404: Problem,
        429: Problem,
    },
    operation_id="preview_get",
    url_name="preview_get",
)
def preview_get(request: HttpRequest, params: Query[PreviewParams]) -> HttpResponse:
    """The revision a preview link names, drafts included. No cookies needed."""
    revision = preview_revision_get(token=params.token)
    content = revision.as_object()
    data: dict[str, Any] = {
        "revision_id": revision.pk,
        "created_at": revision.created_at,
        "course": None,
        "chapter": None,
        "resource": None,
    }
    if isinstance(content, Resource):
        prefetch_related_objects([content], selectors.renditions_prefetch())
        data.update(kind="resource", resource=presenters.resource_detail(content, request))
    elif isinstance(content, ChapterPage):
        data.update(kind="chapter", chapter=_chapter_preview(content))
    elif isinstance(content, CoursePage):
        live = selectors.course_get(course_id=content.pk)
        content.outline_chapters = live.outline_chapters if live else []
        data.update(kind="course", course=presenters.course_outline(content))
    else:
        raise ApiProblem(404, "Not found", "This kind of content has no API preview.")
    return json_response(request, data, cache_control=PRIVATE_CACHE_CONTROL)


@router.get(
    "/preview-links/{revision_id}",
    response={
        200: PreviewLink,
        304: None,
        400: Problem,
        401: Problem,
        403: Problem,
        404: Problem,
        429: Problem,
    },
    operation_id="preview_link_create",
)
def preview_link_create(request: HttpRequest, revision_id: Path[ObjectId]) -> HttpResponse:
    """A preview link for one revision, for staff signed in to the admin who
    may edit the object. Signing stores nothing, so this is a safe GET."""
    revision = Revision.objects.select_related("content_type").filter(pk=revision_id).first()
    if revision is None or not user_may_preview(request.user, revision):
        # Same answer for "no such revision" and "not yours": ids do not leak.
        raise ApiProblem(404, "Not found", f"No revision {revision_id} you may preview.")
    return json_response(
        request, preview_link(request, revision=revision), cache_control=PRIVATE_CACHE_CONTROL
    )
