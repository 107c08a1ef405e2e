"""Output schemas: what the API promises to return, as the OpenAPI document shows it.

Presenters (``presenters.py``) build plain dicts for speed; the test suite and
schemathesis check every response against these schemas, so the two cannot
drift apart silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

ResourceTypeName = Literal["video", "document", "exercise_set", "audio", "article", "link"]
InstitutionKind = Literal["exam_university", "partner_college"]


def _only_id_required(schema: dict[str, Any]) -> None:
    # List items honour ``?fields=``: every field but ``id`` may be left out.
    schema["required"] = ["id"]


SPARSE = ConfigDict(json_schema_extra=_only_id_required)


class Problem(Schema):
    """An RFC 9457 (formerly 7807) problem document, served as application/problem+json."""

    type: str = Field(description="A URI naming the kind of problem; `about:blank` if generic.")
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[dict[str, Any]] = Field(
        default_factory=list, description="Per-parameter errors, for 400 responses."
    )


class InstitutionRef(Schema):
    id: int
    code: str
    name: str


class InstitutionOut(Schema):
    id: int
    code: str
    name: str
    kind: InstitutionKind
    kind_label: str


class InstitutionList(Schema):
    items: list[InstitutionOut]
    next_cursor: str | None


class CourseRef(Schema):
    id: int
    code: str
    title: str
    credits: int
    institution: InstitutionRef


class MajorPlanEntry(Schema):
    position: int
    course: CourseRef


class MajorOut(Schema):
    id: int
    code: str
    name: str
    level: Literal["本科", "专科"]
    exam_university: InstitutionRef
    course_plan: list[MajorPlanEntry]


class MajorList(Schema):
    items: list[MajorOut]
    next_cursor: str | None


class MajorRef(Schema):
    code: str
    name: str
    level: Literal["本科", "专科"]


class ResourceCounts(Schema):
    video: int
    document: int
    exercise_set: int
    audio: int
    article: int
    link: int


class ResourceSummary(Schema):
    id: int
    title: str
    resource_type: ResourceTypeName
    summary: str
    difficulty: int
    duration_seconds: int | None
    knowledge_points: list[str]
    institution: InstitutionRef
    updated_at: datetime


class CourseOut(Schema):
    model_config = SPARSE

    id: int
    code: str
    title: str
    credits: int
    is_public_course: bool
    summary: str
    institution: InstitutionRef
    last_published_at: datetime | None


class CourseList(Schema):
    items: list[CourseOut]
    next_cursor: str | None


class OutlineChapter(Schema):
    id: int
    title: str
    summary: str
    resource_counts: ResourceCounts
    resources: list[ResourceSummary]


class CourseOutline(Schema):
    id: int
    code: str
    title: str
    credits: int
    is_public_course: bool
    summary: str
    syllabus_html: str = Field(description="Rendered, sanitised HTML.")
    institution: InstitutionRef
    majors: list[MajorRef]
    last_published_at: datetime | None
    resource_counts: ResourceCounts
    chapters: list[OutlineChapter]


class ChapterOut(Schema):
    model_config = SPARSE

    id: int
    course_id: int
    title: str
    summary: str
    institution: InstitutionRef
    last_published_at: datetime | None
    resource_counts: ResourceCounts
    resources: list[ResourceSummary]


class ChapterList(Schema):
    items: list[ChapterOut]
    next_cursor: str | None


class DocumentOut(Schema):
    id: int
    title: str
    filename: str
    url: str
    file_size: int | None


class RenditionOut(Schema):
    name: str = Field(description="`360p` … `1080p`, or `audio`.")
    kind: Literal["video", "audio"]
    width: int
    height: int
    bandwidth: int = Field(description="Peak bits per second, as in the master playlist.")
    codecs: str


class MediaOut(Schema):
    """A video or audio asset. URLs point at this API: they stay the same
    while the asset does (so ETags hold), and answer with short-lived signed
    playlists and redirects into the private bucket."""

    id: int
    status: Literal["pending", "queued", "probing", "transcoding", "uploading", "ready", "failed"]
    duration_seconds: float | None
    width: int | None
    height: int | None
    hls_master_url: str | None = Field(description="HLS master playlist; null until ready.")
    poster_url: str | None = Field(description="Poster image; null until ready.")
    renditions: list[RenditionOut]
    captions: list[dict[str, Any]] = Field(description="WebVTT tracks (none yet).")


class MediaProgress(Schema):
    status_label: str
    progress_percent: float
    eta_seconds: int | None
    queue_position: int | None = Field(description="1 = next to start; null when not queued.")
    failure_message: str | None


class MediaManifest(MediaOut):
    """The media of one resource, with the pipeline's progress."""

    resource_id: int
    progress: MediaProgress


class ResourceOut(Schema):
    model_config = SPARSE

    id: int
    title: str
    resource_type: ResourceTypeName
    summary: str
    knowledge_points: list[str]
    difficulty: int
    duration_seconds: int | None
    external_url: str
    institution: InstitutionRef
    document: DocumentOut | None
    media: MediaOut | None
    updated_at: datetime
    last_published_at: datetime | None


class ResourceDetail(ResourceOut):
    model_config = ConfigDict(json_schema_extra=None)  # one resource: every field, always

    body_html: str = Field(description="Rendered, sanitised HTML.")


class ResourceList(Schema):
    items: list[ResourceOut]
    next_cursor: str | None


class SyncChange(Schema):
    """One change. ``upsert`` carries the object as the list endpoints show it;
    ``unpublished`` and ``deleted`` carry only the id. A removed course takes
    its chapters with it: drop them on the client too."""

    kind: Literal["course", "chapter", "resource"]
    id: int
    action: Literal["upsert", "unpublished", "deleted"]
    changed_at: datetime
    course: CourseOut | None
    chapter: ChapterOut | None
    resource: ResourceOut | None


class SyncPage(Schema):
    changes: list[SyncChange]
    has_more: bool = Field(description="More changes up to the same point: call again now.")
    next_token: str = Field(description="Pass as `since` next time.")


class PreviewOut(Schema):
    """The content of one revision, draft or not. Never cached."""

    kind: Literal["course", "chapter", "resource"]
    revision_id: int
    created_at: datetime
    course: CourseOutline | None
    chapter: ChapterOut | None
    resource: ResourceDetail | None


class PreviewLink(Schema):
    token: str
    url: str = Field(description="Opens the preview with no cookies; put it in a QR code.")
    expires_at: datetime
