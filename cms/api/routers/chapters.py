"""Chapters, with their published resources in order."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from cms import selectors
from cms.api import presenters
from cms.api.http import json_response
from cms.api.inputs import ChapterFilters, ObjectId, parse_ids
from cms.api.listing import list_response
from cms.api.problems import ApiProblem
from cms.api.response_cache import cached_public
from cms.api.schemas import ChapterList, ChapterOut, Problem

router = Router(tags=["chapters"])

# Tree paths sort chapters course by course, and within a course in order.
ORDERINGS = {
    "outline": ("path",),
    "-outline": ("-path",),
    "id": ("id",),
    "-id": ("-id",),
}


@router.get(
    "/chapters",
    response={200: ChapterList, 304: None, 400: Problem, 401: Problem, 429: Problem},
    operation_id="chapter_list",
)
@cached_public
def chapter_list(request: HttpRequest, filters: Query[ChapterFilters]) -> HttpResponse:
    return list_response(
        request,
        selectors.chapter_list(
            course=filters.course,
            course_code=filters.course_code,
            college=filters.college,
            ids=parse_ids(filters.ids),
            updated_since=filters.updated_since,
        ),
        scope="chapters",
        filters=filters,
        orderings=ORDERINGS,
        present=presenters.chapter_out,
        prepare=selectors.chapter_resources_attach,
    )


@router.get(
    "/chapters/{chapter_id}",
    response={200: ChapterOut, 304: None, 400: Problem, 401: Problem, 404: Problem, 429: Problem},
    operation_id="chapter_get",
)
@cached_public
def chapter_get(request: HttpRequest, chapter_id: Path[ObjectId]) -> HttpResponse:
    chapter = selectors.chapter_get(chapter_id=chapter_id)
    if chapter is None:
        raise ApiProblem(404, "Not found", f"No published chapter {chapter_id}.")
    return json_response(request, presenters.chapter_out(chapter))
