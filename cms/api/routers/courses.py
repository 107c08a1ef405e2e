"""Courses: the list, and the whole outline of one course in a single call."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from cms import selectors
from cms.api import presenters
from cms.api.http import json_response
from cms.api.inputs import CourseFilters, ObjectId, parse_ids
from cms.api.listing import list_response
from cms.api.problems import ApiProblem
from cms.api.response_cache import cached_public
from cms.api.schemas import CourseList, CourseOutline, Problem

router = Router(tags=["courses"])

ORDERINGS = {
    "code": ("code", "id"),
    "-code": ("-code", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "id": ("id",),
    "-id": ("-id",),
}


@router.get(
    "/courses",
    response={200: CourseList, 304: None, 400: Problem, 401: Problem, 429: Problem},
    operation_id="course_list",
)
@cached_public
def course_list(request: HttpRequest, filters: Query[CourseFilters]) -> HttpResponse:
    return list_response(
        request,
        selectors.course_list(
            major=filters.major,
            code=filters.code,
            college=filters.college,
            ids=parse_ids(filters.ids),
            updated_since=filters.updated_since,
        ),
        scope="courses",
        filters=filters,
        orderings=ORDERINGS,
        present=presenters.course_out,
    )


@router.get(
    "/courses/{course_id}",
    response={
        200: CourseOutline,
        304: None,
        400: Problem,
        401: Problem,
        404: Problem,
        429: Problem,
    },
    operation_id="course_get",
)
@cached_public
def course_get(request: HttpRequest, course_id: Path[ObjectId]) -> HttpResponse:
    """The whole outline: chapters in order, each with its published resources
    (summaries) and counts per resource type."""
    course = selectors.course_get(course_id=course_id)
    if course is None:
        raise ApiProblem(404, "Not found", f"No published course {course_id}.")
    return json_response(request, presenters.course_outline(course))
