"""Institutions and majors (with their course plans)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from cms import selectors
from cms.api import presenters
from cms.api.http import json_response
from cms.api.inputs import Code, InstitutionFilters, MajorFilters
from cms.api.pagination import paginate
from cms.api.problems import ApiProblem
from cms.api.response_cache import cached_public
from cms.api.schemas import InstitutionList, InstitutionOut, MajorList, MajorOut, Problem

router = Router(tags=["catalogue"])

ERRORS = {304: None, 400: Problem, 401: Problem, 429: Problem}
DETAIL_ERRORS = {**ERRORS, 404: Problem}


@router.get(
    "/institutions", response={200: InstitutionList, **ERRORS}, operation_id="institution_list"
)
@cached_public
def institution_list(request: HttpRequest, filters: Query[InstitutionFilters]) -> HttpResponse:
    """Exam universities (主考院校) and partner colleges (助学单位)."""
    institutions, next_cursor = paginate(
        selectors.institution_list(kind=filters.kind),
        scope="institutions",
        ordering="code",
        orderings={"code": ("code", "id")},
        limit=filters.limit,
        cursor=filters.cursor,
    )
    return json_response(
        request,
        {
            "items": [presenters.institution_out(item) for item in institutions],
            "next_cursor": next_cursor,
        },
    )


@router.get(
    "/institutions/{code}",
    response={200: InstitutionOut, **DETAIL_ERRORS},
    operation_id="institution_get",
)
@cached_public
def institution_get(request: HttpRequest, code: Path[Code]) -> HttpResponse:
    institution = selectors.institution_get(code=code)
    if institution is None:
        raise ApiProblem(404, "Not found", f"No institution with code {code}.")
    return json_response(request, presenters.institution_out(institution))


@router.get("/majors", response={200: MajorList, **ERRORS}, operation_id="major_list")
@cached_public
def major_list(request: HttpRequest, filters: Query[MajorFilters]) -> HttpResponse:
    """Majors (专业) with their course plans: published courses, in plan order."""
    majors, next_cursor = paginate(
        selectors.major_list(level=filters.level, exam_university=filters.exam_university),
        scope="majors",
        ordering="code",
        orderings={"code": ("code", "id")},
        limit=filters.limit,
        cursor=filters.cursor,
    )
    return json_response(
        request,
        {"items": [presenters.major_out(major) for major in majors], "next_cursor": next_cursor},
    )


@router.get("/majors/{code}", response={200: MajorOut, **DETAIL_ERRORS}, operation_id="major_get")
@cached_public
def major_get(request: HttpRequest, code: Path[Code]) -> HttpResponse:
    major = selectors.major_get(code=code)
    if major is None:
        raise ApiProblem(404, "Not found", f"No major with code {code}.")
    return json_response(request, presenters.major_out(major))
