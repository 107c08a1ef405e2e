"""Reads of published, public content: what the headless API (and anything else
that shows content to learners) may see.

Every public query path starts from the ``*_public`` querysets below, so a
draft, an unpublished page or a page behind a view restriction never leaks
(DESIGN.md "Drafts never leak"). Selectors own ``select_related`` and
``prefetch_related``: a caller that serialises what a selector returns issues
a fixed number of queries however many rows there are (RELIABILITY.md A10).

Filters are keyword-only and typed; ``None`` means "not filtered".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Cast, Left, Length
from wagtail.models import ModelLogEntry, Page, PageLogEntry

from cms.models import (
    ChapterPage,
    ChapterResource,
    CoursePage,
    Institution,
    Major,
    MajorCourse,
    Resource,
)
from media_pipeline.models import MediaAsset, Rendition, RenditionStatus


def _outer_parent_path() -> Left:
    """The materialised path of the outer query's page's parent, for subqueries."""
    return Left(OuterRef("path"), Length(OuterRef("path")) - Page.steplen)


# -- the public sets -----------------------------------------------------------


def courses_public() -> QuerySet[CoursePage]:
    """Live courses outside any view-restricted section."""
    return CoursePage.objects.live().public()


def chapters_public() -> QuerySet[ChapterPage]:
    """Live chapters of live, public courses.

    Wagtail lets a chapter stay live under an unpublished course; its content
    is still unpublished to a learner, so the parent is checked too.
    """
    live_courses = courses_public().filter(path=_outer_parent_path())
    return ChapterPage.objects.live().public().filter(Exists(live_courses))


def resources_public() -> QuerySet[Resource]:
    """Published resources. A resource's row holds its live content; drafts
    live only in revisions, so ``live=True`` rows never show draft text."""
    return Resource.objects.filter(live=True)


# A resource summary (``presenters.resource_summary``) as plain values: an
# outline lists ~100 of them, and building a Resource, an Institution and a
# ChapterResource instance for each cost more than the SQL behind them.
_SUMMARY_COLUMNS = (
    "title",
    "resource_type",
    "summary",
    "difficulty",
    "duration_seconds",
    "knowledge_points",
    "updated_at",
    "institution_id",
)


def chapter_resources_attach(chapters: Sequence[ChapterPage]) -> None:
    """Set ``chapter.resource_rows`` on each chapter: its published resources
    in the editor's order, as summary rows. One query for all the chapters."""
    rows: dict[int, list[dict[str, Any]]] = {chapter.pk: [] for chapter in chapters}
    summaries = (
        ChapterResource.objects.filter(chapter_id__in=list(rows), resource__live=True)
        .order_by("sort_order", "pk")
        .values(
            "chapter_id",
            "resource_id",
            institution_code=F("resource__institution__code"),
            institution_name=F("resource__institution__name"),
            **{column: F(f"resource__{column}") for column in _SUMMARY_COLUMNS},
        )
    )
    for row in summaries:
        rows[row.pop("chapter_id")].append(row)
    for chapter in chapters:
        chapter.resource_rows = rows[chapter.pk]


def resource_summary_rows(resource_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Summary rows of any resources, drafts included (for previews), by id."""
    summaries = Resource.objects.filter(pk__in=resource_ids).values(
        *_SUMMARY_COLUMNS,
        resource_id=F("id"),
        institution_code=F("institution__code"),
        institution_name=F("institution__name"),
    )
    return {row["resource_id"]: row for row in summaries}


# -- institutions --------------------------------------------------------------


def institution_list(*, kind: str | None = None) -> QuerySet[Institution]:
    institutions = Institution.objects.all()
    if kind is not None:
        institutions = institutions.filter(kind=kind)
    return institutions


def institution_get(*, code: str) -> Institution | None:
    return Institution.objects.filter(code=code).first()


# -- majors --------------------------------------------------------------------


def _major_queryset() -> QuerySet[Major]:
    plan = (
        MajorCourse.objects.filter(course__in=courses_public())
        .select_related("course__institution")
        .order_by("sort_order", "pk")
    )
    return Major.objects.select_related("institution").prefetch_related(
        Prefetch("course_plan", queryset=plan, to_attr="public_course_plan")
    )


def major_list(*, level: str | None = None, exam_university: str | None = None) -> QuerySet[Major]:
    majors = _major_queryset()
    if level is not None:
        majors = majors.filter(level=level)
    if exam_university is not None:
        majors = majors.filter(institution__code=exam_university)
    return majors


def major_get(*, code: str) -> Major | None:
    return _major_queryset().filter(code=code).first()


# -- courses -------------------------------------------------------------------


def course_list(
    *,
    major: str | None = None,
    code: str | None = None,
    college: str | None = None,
    ids: Sequence[int] | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[CoursePage]:
    courses = courses_public().select_related("institution")
    if major is not None:
        courses = courses.filter(major_plans__major__code=major)
    if code is not None:
        courses = courses.filter(code=code)
    if college is not None:
        courses = courses.filter(institution__code=college)
    if ids is not None:
        courses = courses.filter(pk__in=ids)
    if updated_since is not None:
        courses = courses.filter(last_published_at__gte=updated_since)
    return courses


def course_get(*, course_id: int) -> CoursePage | None:
    """A course with its whole outline: majors, chapters in tree order, each
    chapter's published resources in order (``outline_chapters``)."""
    course = (
        courses_public()
        .select_related("institution")
        .prefetch_related(
            Prefetch(
                "major_plans",
                queryset=MajorCourse.objects.select_related("major").order_by("major__code"),
            )
        )
        .filter(pk=course_id)
        .first()
    )
    if course is None:
        return None
    # Tree order is path order among siblings.
    course.outline_chapters = list(
        ChapterPage.objects.live()
        .public()
        .filter(path__startswith=course.path, depth=course.depth + 1)
        .order_by("path")
    )
    chapter_resources_attach(course.outline_chapters)
    return course


# -- chapters ------------------------------------------------------------------


def chapter_list(
    *,
    course: int | None = None,
    course_code: str | None = None,
    college: str | None = None,
    ids: Sequence[int] | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[ChapterPage]:
    """Public chapters with ``course_id``. Pass the page of chapters you show
    to ``chapter_resources_attach`` for their resources."""
    course_id = CoursePage.objects.filter(path=_outer_parent_path()).values("pk")[:1]
    chapters = (
        chapters_public().select_related("institution").annotate(course_id=Subquery(course_id))
    )
    if course is not None or course_code is not None:
        parents = courses_public()
        if course is not None:
            parents = parents.filter(pk=course)
        if course_code is not None:
            parents = parents.filter(code=course_code)
        chapters = chapters.filter(Exists(parents.filter(path=_outer_parent_path())))
    if college is not None:
        chapters = chapters.filter(institution__code=college)
    if ids is not None:
        chapters = chapters.filter(pk__in=ids)
    if updated_since is not None:
        chapters = chapters.filter(last_published_at__gte=updated_since)
    return chapters


def chapter_get(*, chapter_id: int) -> ChapterPage | None:
    chapter = chapter_list().filter(pk=chapter_id).first()
    if chapter is not None:
        chapter_resources_attach([chapter])
    return chapter


# -- resources -----------------------------------------------------------------


def resource_list(
    *,
    resource_type: str | None = None,
    college: str | None = None,
    knowledge_point: str | None = None,
    difficulty: int | None = None,
    course: int | None = None,
    course_code: str | None = None,
    major: str | None = None,
    ids: Sequence[int] | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[Resource]:
    resources = (
        resources_public()
        .select_related("institution", "document", "media_asset")
        .prefetch_related(renditions_prefetch())
    )
    if resource_type is not None:
        resources = resources.filter(resource_type=resource_type)
    if college is not None:
        resources = resources.filter(institution__code=college)
    if knowledge_point is not None:
        resources = resources.filter(knowledge_points__contains=[knowledge_point])
    if difficulty is not None:
        resources = resources.filter(difficulty=difficulty)
    if course is not None or course_code is not None or major is not None:
        courses = courses_public()
        if course is not None:
            courses = courses.filter(pk=course)
        if course_code is not None:
            courses = courses.filter(code=course_code)
        if major is not None:
            courses = courses.filter(major_plans__major__code=major)
        used = ChapterResource.objects.filter(
            chapter__in=chapters_public().filter(Exists(courses.filter(path=_outer_parent_path())))
        )
        resources = resources.filter(Exists(used.filter(resource=OuterRef("pk"))))
    if ids is not None:
        resources = resources.filter(pk__in=ids)
    if updated_since is not None:
        resources = resources.filter(updated_at__gte=updated_since)
    return resources


def resource_get(*, resource_id: int) -> Resource | None:
    return resource_list().filter(pk=resource_id).first()


# -- media -------------------------------------------------------------------


def renditions_prefetch() -> Prefetch:
    """``asset.stored_renditions``: stored renditions, audio first, then by
    height (the master's order), for ``presenters.media_out``."""
    return Prefetch(
        "media_asset__renditions",
        queryset=Rendition.objects.filter(status=RenditionStatus.UPLOADED).order_by(
            "kind", "height"
        ),
        to_attr="stored_renditions",
    )


def media_asset_public(*, asset_id: int) -> MediaAsset | None:
    """An asset learners may play: one a published resource uses. Anything
    else (a draft's upload, an unpublished resource's video) is not there."""
    return (
        MediaAsset.objects.filter(pk=asset_id)
        .filter(Exists(resources_public().filter(media_asset=OuterRef("pk"))))
        .first()
    )


# -- changes, for delta sync ---------------------------------------------------

# Log actions after which an object may have left the public set. Whether it
# did is decided by looking at the object now, not at the log.
REMOVAL_ACTIONS = ("wagtail.unpublish", "wagtail.delete", "wagtail.view_restriction.create")


def course_changes(*, since: datetime | None, until: datetime) -> QuerySet[CoursePage]:
    """Public courses published in (since, until]."""
    courses = course_list().filter(last_published_at__lte=until)
    return courses if since is None else courses.filter(last_published_at__gt=since)


def chapter_changes(*, since: datetime | None, until: datetime) -> QuerySet[ChapterPage]:
    chapters = chapter_list().filter(last_published_at__lte=until)
    return chapters if since is None else chapters.filter(last_published_at__gt=since)


def resource_changes(*, since: datetime | None, until: datetime) -> QuerySet[Resource]:
    """Published resources saved in (since, until]. Publishing saves the row,
    so ``updated_at`` moves; a draft save does not touch the row."""
    resources = resource_list().filter(updated_at__lte=until)
    return resources if since is None else resources.filter(updated_at__gt=since)


def page_removals(*, since: datetime, until: datetime) -> QuerySet[PageLogEntry]:
    """Log entries of courses and chapters that are no longer public."""
    content_types = ContentType.objects.get_for_models(CoursePage, ChapterPage).values()
    public = Q(Exists(courses_public().filter(pk=OuterRef("page_id")))) | Q(
        Exists(chapters_public().filter(pk=OuterRef("page_id")))
    )
    return (
        PageLogEntry.objects.filter(
            content_type__in=list(content_types),
            action__in=REMOVAL_ACTIONS,
            timestamp__gt=since,
            timestamp__lte=until,
        )
        .exclude(public)
        .annotate(page_exists=Exists(Page.objects.filter(pk=OuterRef("page_id"))))
    )


def resource_removals(*, since: datetime, until: datetime) -> QuerySet[ModelLogEntry]:
    """Log entries of resources that are no longer published."""

    # Compare as text: ``object_id`` is a string column shared by every model,
    # and casting it to a number could fail on another model's ids.
    def by_id(resources: QuerySet[Resource]) -> QuerySet[Resource]:
        return resources.annotate(id_text=Cast("pk", CharField())).filter(
            id_text=OuterRef("object_id")
        )

    return (
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Resource),
            action__in=REMOVAL_ACTIONS,
            timestamp__gt=since,
            timestamp__lte=until,
        )
        .exclude(Exists(by_id(resources_public())))
        .annotate(object_exists=Exists(by_id(Resource.objects.all())))
    )
