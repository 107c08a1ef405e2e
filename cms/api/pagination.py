"""Keyset (cursor) pagination: stable while content is added or removed.

An offset moves when rows are inserted before it; a cursor names the last row
seen by its ordering values, so the next page starts right after it whatever
changed meanwhile. Cursors are signed: a forged or truncated cursor is a 400,
never a database error. Every ordering ends with ``id`` so it is total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Field as DjangoField
from django.db.models import Model, Q, QuerySet

from .problems import ApiProblem

CURSOR_SALT = "cms.api.cursor"
ModelT = TypeVar("ModelT", bound=Model)


def _field_name(key: str) -> str:
    return key.removeprefix("-")


def _after(keys: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after ``values`` in the order ``keys``: (a > va) or
    (a = va and b > vb) or …, with < for descending keys."""
    condition = Q(pk__in=[])
    for index, key in enumerate(keys):
        operator = "lt" if key.startswith("-") else "gt"
        step = Q(**{f"{_field_name(key)}__{operator}": values[index]})
        for previous_key, previous_value in zip(keys[:index], values[:index], strict=True):
            step &= Q(**{_field_name(previous_key): previous_value})
        condition |= step
    return condition


def _cursor_values(queryset: QuerySet[ModelT], keys: Sequence[str], raw: list[Any]) -> list[Any]:
    model = queryset.model
    values = []
    for key, value in zip(keys, raw, strict=True):
        name = _field_name(key)
        field = model._meta.pk if name in ("id", "pk") else model._meta.get_field(name)
        assert isinstance(field, DjangoField), "orderings name concrete fields only"
        values.append(field.to_python(value))
    return values


def _encode(item: Model, *, scope: str, ordering: str, keys: Sequence[str]) -> str:
    values = []
    for key in keys:
        value = getattr(item, _field_name(key))
        values.append(value.isoformat() if hasattr(value, "isoformat") else value)
    return signing.dumps({"s": scope, "o": ordering, "v": values}, salt=CURSOR_SALT)


def paginate(
    queryset: QuerySet[ModelT],
    *,
    scope: str,
    ordering: str,
    orderings: Mapping[str, Sequence[str]],
    limit: int,
    cursor: str | None,
) -> tuple[list[ModelT], str | None]:
    """One page of ``queryset`` and the cursor of the next page (None at the end)."""
    keys = orderings[ordering]
    queryset = queryset.order_by(*keys)
    if cursor:
        try:
            payload = signing.loads(cursor, salt=CURSOR_SALT)
            if payload["s"] != scope or payload["o"] != ordering:
                raise ValueError("cursor from another listing")
            values = _cursor_values(queryset, keys, list(payload["v"]))
        except (signing.BadSignature, ValidationError, ValueError, KeyError, TypeError) as error:
            raise ApiProblem(
                400,
                "Invalid cursor",
                "Pass back `next_cursor` from the previous page unchanged, "
                "with the same `ordering`.",
                kind="invalid-cursor",
                errors=[{"parameter": "cursor", "message": str(error), "code": "invalid"}],
            ) from error
        queryset = queryset.filter(_after(keys, values))
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _encode(rows[-1], scope=scope, ordering=ordering, keys=keys)
    return rows, next_cursor
