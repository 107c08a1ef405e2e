"""Resources: list with filters, and one resource with its rendered body."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from cms import selectors
from cms.api import presenters
from cms.api.http import json_response
from cms.api.inputs import ObjectId, ResourceFilters, parse_ids
from cms.api.listing import list_response
from cms.api.problems import ApiProblem
from cms.api.response_cache import cached_public
from cms.api.schemas import Problem, ResourceDetail, ResourceList

router = Router(tags=["resources"])

ORDERINGS = {
    "id": ("id",),
    "-id": ("-id",),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "updated_at": ("updated_at", "id"),
    "-updated_at": ("-updated_at", "-id"),
    "difficulty": ("difficulty", "id"),
    "-difficulty": ("-difficulty", "-id"),
}


@router.get(
    "/resources",
    response={200: ResourceList, 304: None, 400: Problem, 401: Problem, 429: Problem},
    operation_id="resource_list",
)
@cached_public
def resource_list(request: HttpRequest, filters: Query[ResourceFilters]) -> HttpResponse:
    return list_response(
        request,
        selectors.resource_list(
            resource_type=filters.resource_type,
            college=filters.college,
            knowledge_point=filters.knowledge_point,
            difficulty=filters.difficulty,
            course=filters.course,
            course_code=filters.course_code,
            major=filters.major,
            ids=parse_ids(filters.ids),
            updated_since=filters.updated_since,
        ),
        scope="resources",
        filters=filters,
        orderings=ORDERINGS,
        present=lambda resource: presenters.resource_out(resource, request),
    )


@router.get(
    "/resources/{resource_id}",
    response={
        200: ResourceDetail,
        304: None,
        400: Problem,
        401: Problem,
        404: Problem,
        429: Problem,
    },
    operation_id="resource_get",
)
@cached_public
def resource_get(request: HttpRequest, resource_id: Path[ObjectId]) -> HttpResponse:
    resource = selectors.resource_get(resource_id=resource_id)
    if resource is None:
        raise ApiProblem(404, "Not found", f"No published resource {resource_id}.")
    return json_response(request, presenters.resource_detail(resource, request))
