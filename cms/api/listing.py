"""The one shape every list endpoint answers with: a cursor page of sparse items."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from cms.api import presenters
from cms.api.http import json_response
from cms.api.inputs import parse_fields
from cms.api.pagination import paginate


def list_response(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    scope: str,
    filters: Any,
    orderings: Mapping[str, Sequence[str]],
    present: Callable[[Any], dict[str, Any]],
    prepare: Callable[[list[Any]], None] | None = None,
) -> HttpResponse:
    """Paginate ``queryset`` by the filters' cursor, ordering and limit, and
    answer with each item presented, trimmed to ``?fields=``, and an ETag.
    ``prepare`` loads what the page's items need in one go (a fixed number of
    queries per page, whatever its size)."""
    items, next_cursor = paginate(
        queryset,
        scope=scope,
        ordering=filters.ordering,
        orderings=orderings,
        limit=filters.limit,
        cursor=filters.cursor,
    )
    if prepare is not None:
        prepare(items)
    fields = parse_fields(filters.fields)
    return json_response(
        request,
        {
            "items": [presenters.sparse(present(item), fields) for item in items],
            "next_cursor": next_cursor,
        },
    )
