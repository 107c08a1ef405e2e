"""Learner search (issue #5): full-text search with facets and highlights, and
pinyin suggestions. The work is done by ``search/`` (Elasticsearch, or the
embedded backend); this module parses, checks and presents."""

from __future__ import annotations

import logging
import re
from typing import Annotated, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import AfterValidator, Field, StringConstraints

from cms.api.http import json_response
from cms.api.inputs import MAX_LIMIT, Code, ResourceTypeParam
from cms.api.problems import ApiProblem
from cms.api.schemas import Problem
from cms.models import Institution, Major, ResourceType
from search.backends import active_backend
from search.queries import FACETS, QueryTooDeep, SearchPage, SearchParams

logger = logging.getLogger(__name__)
router = Router(tags=["search"])

# Deep pages stop at the index's max_result_window (10,000): offset + limit
# beyond it is a 400, not a 500 (RELIABILITY.md S10).
MAX_OFFSET = 10_000
# A learner's query is a few words; 100 characters bounds the work per request
# (a 10 kB string is refused, not analysed).
MAX_QUERY_LENGTH = 100
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> str:
    # In code rather than one regex: "no control character, and not blank" as
    # a single pattern is easy to get wrong (\S also matches NUL).
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("control characters are not allowed")
    if not value.strip():
        raise ValueError("give at least one non-space character")
    return value


SearchText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=r"\S"),
    AfterValidator(_printable),
]
KIND_LABELS = {"course": "课程", "chapter": "章节", "resource": "资源"}


class SearchFilters(Schema):
    q: SearchText = Field(description="What to look for: Chinese, pinyin-free; 马原, 00015, java…")
    kind: Literal["course", "chapter", "resource"] | None = None
    major: Code | None = Field(None, description="Major code, e.g. `120203K`.")
    course: int | None = Field(None, ge=1, le=2**63 - 1, description="Course id.")
    college: Code | None = Field(None, description="Owning institution's code.")
    resource_type: ResourceTypeParam | None = None
    difficulty: int | None = Field(None, ge=1, le=5)
    order: Literal["relevance", "recent"] = "relevance"
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Results to skip.")
    limit: int = Field(20, ge=1, le=MAX_LIMIT, description="Results per page.")


class SuggestParams(Schema):
    q: SearchText = Field(
        description="A prefix in characters, pinyin or initials: 会计, kuaiji, kj."
    )
    limit: int = Field(10, ge=1, le=20)


class SearchCourse(Schema):
    id: int
    code: str
    title: str


class SearchItem(Schema):
    kind: Literal["course", "chapter", "resource"]
    id: int
    title: str
    summary: str
    course: SearchCourse | None
    college: str
    resource_type: str | None
    difficulty: int | None
    published_at: str | None
    score: float | None
    highlights: dict[str, str] = Field(
        description="HTML snippets (`title`, `summary`) with matches in `<em>`; text is escaped."
    )


class FacetCount(Schema):
    value: str
    label: str
    count: int


class SearchResults(Schema):
    query: str
    total: int
    offset: int
    limit: int
    order: Literal["relevance", "recent"]
    items: list[SearchItem]
    facets: dict[str, list[FacetCount]]


class SuggestionOut(Schema):
    text: str
    kind: Literal["course", "chapter"]
    id: int
    course_code: str | None


class SuggestResults(Schema):
    query: str
    suggestions: list[SuggestionOut]


def _unavailable(error: Exception) -> ApiProblem:
    logger.exception("search backend failed", exc_info=error)
    return ApiProblem(
        503,
        "Search unavailable",
        "The search service is not answering; please retry shortly.",
        headers={"Retry-After": "10"},
    )


def _facet_labels(page: SearchPage) -> dict[str, dict[str, str]]:
    """Human labels for facet values, in two small queries."""
    majors = {value.value for value in page.facets.get("majors", [])}
    colleges = {value.value for value in page.facets.get("college", [])}
    return {
        "kind": KIND_LABELS,
        "majors": dict(Major.objects.filter(code__in=majors).values_list("code", "name")),
        "college": dict(Institution.objects.filter(code__in=colleges).values_list("code", "name")),
        "resource_type": {str(value): str(label) for value, label in ResourceType.choices},
        "difficulty": {str(level): f"难度 {level}" for level in range(1, 6)},
    }


@router.get(
    "/search",
    response={
        200: SearchResults,
        304: None,
        400: Problem,
        401: Problem,
        429: Problem,
        503: Problem,
    },
    operation_id="search",
)
def search(request: HttpRequest, filters: Query[SearchFilters]) -> HttpResponse:
    params = SearchParams(
        query=filters.q,
        kind=filters.kind,
        major=filters.major,
        course=filters.course,
        college=filters.college,
        resource_type=filters.resource_type,
        difficulty=filters.difficulty,
        order=filters.order,
        offset=filters.offset,
        limit=filters.limit,
    )
    try:
        page = active_backend().search(params)
    except QueryTooDeep as error:
        raise ApiProblem(
            400,
            "Page too deep",
            str(error),
            kind="invalid-parameters",
            errors=[{"parameter": "offset", "message": str(error), "code": "too_deep"}],
        ) from error
    except Exception as error:
        raise _unavailable(error) from error
    labels = _facet_labels(page)
    body = {
        "query": filters.q,
        "total": page.total,
        "offset": filters.offset,
        "limit": filters.limit,
        "order": filters.order,
        "items": [
            {
                "kind": hit.kind,
                "id": hit.object_id,
                "title": hit.title,
                "summary": hit.summary,
                "course": (
                    {"id": hit.course_id, "code": hit.course_code, "title": hit.course_title}
                    if hit.course_id and hit.course_code and hit.course_title
                    else None
                ),
                "college": hit.college,
                "resource_type": hit.resource_type,
                "difficulty": hit.difficulty,
                "published_at": hit.published_at,
                "score": hit.score,
                "highlights": hit.highlights,
            }
            for hit in page.hits
        ],
        "facets": {
            name: [
                {
                    "value": value.value,
                    "label": labels[name].get(value.value, value.value),
                    "count": value.count,
                }
                for value in page.facets.get(name, [])
            ]
            for name in FACETS
        },
    }
    return json_response(request, body)


@router.get(
    "/search/suggest",
    response={
        200: SuggestResults,
        304: None,
        400: Problem,
        401: Problem,
        429: Problem,
        503: Problem,
    },
    operation_id="search_suggest",
)
def suggest(request: HttpRequest, params: Query[SuggestParams]) -> HttpResponse:
    try:
        suggestions = active_backend().suggest(params.q, limit=params.limit)
    except Exception as error:
        raise _unavailable(error) from error
    return json_response(
        request,
        {
            "query": params.q,
            "suggestions": [
                {
                    "text": suggestion.text,
                    "kind": suggestion.kind,
                    "id": suggestion.object_id,
                    "course_code": suggestion.course_code,
                }
                for suggestion in suggestions
            ],
        },
    )
