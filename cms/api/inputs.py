"""Input schemas: the closed, typed query parameters of each endpoint.

Every parameter has a type and bounds the OpenAPI document can state, so a
front end (and schemathesis) knows what is accepted, and anything outside it
is a 400 problem before a query runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

MAX_LIMIT = 100  # RELIABILITY.md: page size capped like WAGTAILAPI_LIMIT_MAX
DEFAULT_LIMIT = 20
MAX_IDS = 100

# Object ids are bigint: anything larger would be a database error, not a 404.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
# No control characters: PostgreSQL rejects NUL in text, and nothing else of
# that kind belongs in a topic name.
KnowledgePoint = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Ids = Annotated[
    str,
    StringConstraints(pattern=rf"^[1-9][0-9]{{0,17}}(,[1-9][0-9]{{0,17}}){{0,{MAX_IDS - 1}}}$"),
]
ResourceTypeParam = Literal["video", "document", "exercise_set", "audio", "article", "link"]


def _rfc3339_only(value: object) -> object:
    # Pydantic would also take a number as a Unix time ("0.5" → 1970): the
    # schema promises an RFC 3339 date-time, so only that is accepted.
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}[Tt]", value):
        raise ValueError(
            "give an RFC 3339 date-time with an offset, e.g. 2026-01-01T08:00:00+08:00"
        )
    return value


def _in_utc(value: datetime) -> datetime:
    # PostgreSQL takes offsets only up to ±15:59 (RFC 3339 allows ±23:59): the
    # instant is what matters, so it goes to the database in UTC.
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # e.g. 0001-01-01T00:00:00+01:00
        raise ValueError("date-time out of range") from error


DateTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_in_utc)]


def fields_pattern(names: Iterable[str]) -> str:
    alternatives = "|".join(sorted(names))
    return rf"^({alternatives})(,({alternatives}))*$"


def parse_ids(ids: str | None) -> list[int] | None:
    return None if ids is None else [int(part) for part in ids.split(",")]


def parse_fields(fields: str | None) -> set[str] | None:
    return None if fields is None else set(fields.split(","))


class Page(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None, max_length=512, description="`next_cursor` of the previous page."
    )


class InstitutionFilters(Page):
    kind: Literal["exam_university", "partner_college"] | None = None


class MajorFilters(Page):
    level: Literal["本科", "专科"] | None = None
    exam_university: Code | None = Field(None, description="Institution code.")


COURSE_FIELDS = (
    "id",
    "code",
    "title",
    "credits",
    "is_public_course",
    "summary",
    "institution",
    "last_published_at",
)


class CourseFilters(Page):
    major: Code | None = Field(None, description="Major code, e.g. `050101`.")
    code: Code | None = Field(None, description="National course code, e.g. `00015`.")
    college: Code | None = Field(None, description="Owning institution's code.")
    ids: Ids | None = Field(None, description="Comma-separated ids, at most 100.")
    updated_since: DateTime | None = Field(
        None, description="Published at or after this instant (with a UTC offset)."
    )
    ordering: Literal["code", "-code", "title", "-title", "id", "-id"] = "code"
    fields: Annotated[str, StringConstraints(pattern=fields_pattern(COURSE_FIELDS))] | None = Field(
        None, description="Comma-separated fields to return; `id` always comes."
    )


CHAPTER_FIELDS = (
    "id",
    "course_id",
    "title",
    "summary",
    "institution",
    "last_published_at",
    "resource_counts",
    "resources",
)


class ChapterFilters(Page):
    course: int | None = Field(None, ge=1, le=2**63 - 1, description="Course id.")
    course_code: Code | None = None
    college: Code | None = None
    ids: Ids | None = None
    updated_since: DateTime | None = None
    ordering: Literal["outline", "-outline", "id", "-id"] = Field(
        "outline", description="`outline`: course by course, chapters in course order."
    )
    fields: Annotated[str, StringConstraints(pattern=fields_pattern(CHAPTER_FIELDS))] | None = None


RESOURCE_FIELDS = (
    "id",
    "title",
    "resource_type",
    "summary",
    "knowledge_points",
    "difficulty",
    "duration_seconds",
    "external_url",
    "institution",
    "document",
    "media",
    "updated_at",
    "last_published_at",
)


class ResourceFilters(Page):
    resource_type: ResourceTypeParam | None = None
    college: Code | None = None
    knowledge_point: KnowledgePoint | None = None
    difficulty: int | None = Field(None, ge=1, le=5)
    course: int | None = Field(None, ge=1, le=2**63 - 1, description="Used in this course.")
    course_code: Code | None = Field(None, description="Used in a course with this code.")
    major: Code | None = Field(None, description="Used in a course of this major's plan.")
    ids: Ids | None = None
    updated_since: DateTime | None = None
    ordering: Literal[
        "id", "-id", "title", "-title", "updated_at", "-updated_at", "difficulty", "-difficulty"
    ] = "id"
    fields: Annotated[str, StringConstraints(pattern=fields_pattern(RESOURCE_FIELDS))] | None = None


class SyncParams(Schema):
    since: str | None = Field(
        None,
        max_length=512,
        description="`next_token` of the previous sync; leave out to start from nothing.",
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Changes per page.")
