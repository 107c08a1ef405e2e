"""Models → plain dicts in the shape of ``schemas.py``.

Plain dicts rather than pydantic instances: building 100 resources through
pydantic validation costs more than the queries behind them, and the shapes
are checked against the schemas by the tests and by schemathesis instead.
Presenters never query: the selectors have loaded everything they touch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import nh3
from django.http import HttpRequest
from django.urls import reverse
from wagtail.rich_text import expand_db_html

from cms.models import ChapterPage, CoursePage, Institution, Major, Resource, ResourceType
from media_pipeline.models import MediaAsset
from media_pipeline.selectors import asset_is_playable


def rich_text_html(value: str) -> str:
    """Front ends insert this HTML as is, so it is sanitised here (ammonia's
    allowlist): rich text saved by a loader or an import never went through
    the editor's own filtering (RELIABILITY.md A11)."""
    return nh3.clean(expand_db_html(value)) if value else ""


def institution_ref(institution: Institution) -> dict[str, Any]:
    return {"id": institution.pk, "code": institution.code, "name": institution.name}


def institution_out(institution: Institution) -> dict[str, Any]:
    return institution_ref(institution) | {
        "kind": institution.kind,
        "kind_label": institution.get_kind_display(),
    }


def course_ref(course: CoursePage) -> dict[str, Any]:
    return {
        "id": course.pk,
        "code": course.code,
        "title": course.title,
        "credits": course.credits,
        "institution": institution_ref(course.institution),
    }


def major_out(major: Major) -> dict[str, Any]:
    return {
        "id": major.pk,
        "code": major.code,
        "name": major.name,
        "level": major.level,
        "exam_university": institution_ref(major.institution),
        "course_plan": [
            {"position": position, "course": course_ref(entry.course)}
            for position, entry in enumerate(major.public_course_plan, start=1)
        ],
    }


def course_out(course: CoursePage) -> dict[str, Any]:
    return {
        "id": course.pk,
        "code": course.code,
        "title": course.title,
        "credits": course.credits,
        "is_public_course": course.is_public_course,
        "summary": course.summary,
        "institution": institution_ref(course.institution),
        "last_published_at": course.last_published_at,
    }


def resource_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = Counter(row["resource_type"] for row in rows)
    return {resource_type: counts.get(resource_type, 0) for resource_type in ResourceType.values}


def resource_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """A summary row from ``selectors.chapter_resources_attach`` or
    ``selectors.resource_summary_rows``."""
    return {
        "id": row["resource_id"],
        "title": row["title"],
        "resource_type": row["resource_type"],
        "summary": row["summary"],
        "difficulty": row["difficulty"],
        "duration_seconds": row["duration_seconds"],
        "knowledge_points": row["knowledge_points"],
        "institution": {
            "id": row["institution_id"],
            "code": row["institution_code"],
            "name": row["institution_name"],
        },
        "updated_at": row["updated_at"],
    }


def chapter_out(chapter: ChapterPage) -> dict[str, Any]:
    rows = chapter.resource_rows
    return {
        "id": chapter.pk,
        "course_id": chapter.course_id,
        "title": chapter.title,
        "summary": chapter.summary,
        "institution": institution_ref(chapter.institution),
        "last_published_at": chapter.last_published_at,
        "resource_counts": resource_counts(rows),
        "resources": [resource_summary(row) for row in rows],
    }


def course_outline(course: CoursePage) -> dict[str, Any]:
    chapters = []
    all_rows: list[Mapping[str, Any]] = []
    for chapter in course.outline_chapters:
        rows = chapter.resource_rows
        all_rows.extend(rows)
        chapters.append(
            {
                "id": chapter.pk,
                "title": chapter.title,
                "summary": chapter.summary,
                "resource_counts": resource_counts(rows),
                "resources": [resource_summary(row) for row in rows],
            }
        )
    return course_out(course) | {
        "syllabus_html": rich_text_html(course.syllabus),
        "majors": [
            {"code": plan.major.code, "name": plan.major.name, "level": plan.major.level}
            for plan in course.major_plans.all()
        ],
        "resource_counts": resource_counts(all_rows),
        "chapters": chapters,
    }


def media_out(asset: MediaAsset, request: HttpRequest) -> dict[str, Any]:
    """URLs name this API, not the bucket: they stay put while the asset does."""
    ready = asset_is_playable(asset)

    def url(name: str) -> str | None:
        return request.build_absolute_uri(reverse(name, args=[asset.pk])) if ready else None

    return {
        "id": asset.pk,
        "status": asset.status,
        "duration_seconds": asset.duration_seconds,
        "width": asset.width,
        "height": asset.height,
        "hls_master_url": url("api-v1:media_master"),
        "poster_url": url("api-v1:media_poster"),
        "renditions": [
            {
                "name": rendition.name,
                "kind": rendition.kind,
                "width": rendition.width,
                "height": rendition.height,
                "bandwidth": rendition.bandwidth,
                "codecs": rendition.codecs,
            }
            # Loaded by selectors.renditions_prefetch: presenters never query.
            for rendition in (getattr(asset, "stored_renditions", []) if ready else [])
        ],
        "captions": [],
    }


def resource_out(resource: Resource, request: HttpRequest) -> dict[str, Any]:
    document = resource.document
    return {
        "id": resource.pk,
        "title": resource.title,
        "resource_type": resource.resource_type,
        "summary": resource.summary,
        "knowledge_points": resource.knowledge_points,
        "difficulty": resource.difficulty,
        "duration_seconds": resource.duration_seconds,
        "external_url": resource.external_url,
        "institution": institution_ref(resource.institution),
        "document": None
        if document is None
        else {
            "id": document.pk,
            "title": document.title,
            "filename": document.filename,
            "url": request.build_absolute_uri(document.url),
            "file_size": document.file_size,
        },
        "media": None if resource.media_asset is None else media_out(resource.media_asset, request),
        "updated_at": resource.updated_at,
        "last_published_at": resource.last_published_at,
    }


def resource_detail(resource: Resource, request: HttpRequest) -> dict[str, Any]:
    detail = resource_out(resource, request)
    detail["body_html"] = rich_text_html(resource.body)
    return detail


def sparse(item: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
    """``?fields=``: keep the requested keys, and always ``id``."""
    if fields is None:
        return item
    return {key: value for key, value in item.items() if key == "id" or key in fields}
