"""What the search index holds: one document per published course, chapter and
resource, built from the database with a constant number of queries per batch.

All three kinds live in one index (``<prefix>content`` alias → versioned
index), so one query searches everything and facets count across kinds.
Text fields hold tokens made by ``search.analysis`` and are indexed with the
core ``whitespace`` analyser: no server-side Chinese analysis is needed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from elasticsearch.dsl import Boolean, Date, Document, Integer, Keyword, Long, Text

from cms import selectors
from cms.models import ChapterPage, ChapterResource, CoursePage, MajorCourse, Resource

from . import analysis

KINDS = ("course", "chapter", "resource")
# Objects read from the database per query batch: ~17 queries per 2,000
# objects whatever their kind.
BATCH = 2000
WHITESPACE = "whitespace"
TAG = re.compile(r"<[^>]+>")


def _tokens() -> Text:
    # Positions are kept for phrase matches ("match_phrase" on bigrams ranks an
    # exact course name first); norms are kept so short titles win.
    return Text(analyzer=WHITESPACE)


def _stored() -> Keyword:
    """Shown in results, never searched."""
    return Keyword(index=False, doc_values=False)


class ContentDocument(Document):
    """Fields shared by every kind. The mapping is the union of the three
    documents below, registered on one index in ``search.indexing``."""

    kind = Keyword()
    object_id = Long()
    title = _stored()
    summary = _stored()
    title_words = _tokens()
    title_bigrams = _tokens()
    body_words = _tokens()
    body_bigrams = _tokens()
    # The course a document belongs to: its name, abbreviations and code.
    course_words = _tokens()
    # Exact course codes (00015): a query naming one is boosted.
    codes = Keyword()
    course_ids = Long()
    course_title = _stored()
    majors = Keyword()
    exam_universities = Keyword()
    college = Keyword()
    published_at = Date()
    updated_at = Date()
    # Kept in the document so the public query can filter on them: a document
    # that should not be there (a failed delete, a stale replica) still never
    # reaches a learner (RELIABILITY.md S4/S11).
    live = Boolean()
    public = Boolean()


class CourseDocument(ContentDocument):
    code = Keyword()
    suggest_keys = Keyword()
    # Suggestions list shorter names first: 会计学 before 会计制度设计.
    suggest_length = Integer()


class ChapterDocument(ContentDocument):
    position = Integer()
    suggest_keys = Keyword()
    suggest_length = Integer()


class ResourceDocument(ContentDocument):
    resource_type = Keyword()
    difficulty = Integer()
    knowledge_points = Keyword()
    chapter_ids = Long()


DOCUMENT_CLASSES: tuple[type[ContentDocument], ...] = (
    CourseDocument,
    ChapterDocument,
    ResourceDocument,
)


def document_id(kind: str, object_id: int) -> str:
    return f"{kind}-{object_id}"


def plain_text(html: str) -> str:
    # Django's strip_tags runs an HTML parser (~20× slower); rich text from
    # Wagtail's editor is well formed, and entities do not matter for tokens.
    return TAG.sub(" ", html) if "<" in html else html


@dataclass
class CourseFacts:
    """What a chapter or resource inherits from its course."""

    course_id: int
    code: str
    title: str
    majors: list[str] = field(default_factory=list)
    exam_universities: list[str] = field(default_factory=list)

    @cached_property
    def words(self) -> list[str]:
        # Cached: every resource of the course repeats it (15k resources, 215 courses).
        return [
            *analysis.words(self.title),
            *analysis.abbreviations_of(self.title),
            self.code,
        ]


def _course_facts(courses: Iterable[CoursePage]) -> dict[int, CourseFacts]:
    facts = {course.pk: CourseFacts(course.pk, course.code, course.title) for course in courses}
    plans = MajorCourse.objects.filter(course_id__in=list(facts)).values_list(
        "course_id", "major__code", "major__institution__code"
    )
    for course_id, major_code, university in plans:
        fact = facts[course_id]
        if major_code not in fact.majors:
            fact.majors.append(major_code)
        if university not in fact.exam_universities:
            fact.exam_universities.append(university)
    return facts


def _text_fields(title: str, body: str, extra_words: Sequence[str] = ()) -> dict[str, str]:
    title_n = analysis.normalize(title)
    body_n = analysis.normalize(body)
    return {
        "title_words": analysis.joined([*analysis.words(title_n, normalized=True), *extra_words]),
        "title_bigrams": analysis.joined(analysis.bigrams(title_n, normalized=True)),
        "body_words": analysis.joined(analysis.words(body_n, normalized=True)),
        "body_bigrams": analysis.joined(analysis.bigrams(body_n, normalized=True)),
    }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _base(kind: str, object_id: int) -> dict[str, Any]:
    return {
        "_id": document_id(kind, object_id),
        "kind": kind,
        "object_id": object_id,
        "live": True,
        "public": True,
    }


def course_source(course: CoursePage, facts: CourseFacts) -> dict[str, Any]:
    abbreviations = analysis.abbreviations_of(course.title)
    return {
        **_base("course", course.pk),
        "title": course.title,
        "summary": course.summary,
        **_text_fields(
            course.title,
            f"{course.summary} {plain_text(course.syllabus)}",
            extra_words=abbreviations,
        ),
        "course_words": analysis.joined(facts.words),
        "codes": [course.code],
        "code": course.code,
        "course_ids": [course.pk],
        "course_title": course.title,
        "majors": facts.majors,
        "exam_universities": facts.exam_universities,
        "college": course.institution.code,
        "published_at": iso(course.last_published_at),
        "updated_at": iso(course.last_published_at),
        "suggest_keys": [*analysis.suggest_keys(course.title), *abbreviations, course.code],
        "suggest_length": len(course.title),
    }


def chapter_source(chapter: ChapterPage, facts: CourseFacts, position: int) -> dict[str, Any]:
    return {
        **_base("chapter", chapter.pk),
        "title": chapter.title,
        "summary": chapter.summary,
        **_text_fields(chapter.title, chapter.summary),
        "course_words": analysis.joined(facts.words),
        "codes": [facts.code],
        "course_ids": [facts.course_id],
        "course_title": facts.title,
        "majors": facts.majors,
        "exam_universities": facts.exam_universities,
        "college": chapter.institution.code,
        "position": position,
        "published_at": iso(chapter.last_published_at),
        "updated_at": iso(chapter.last_published_at),
        "suggest_keys": analysis.suggest_keys(analysis.CHAPTER_PREFIX.sub("", chapter.title)),
        "suggest_length": len(chapter.title),
    }


def resource_source(
    resource: Resource, courses: Sequence[CourseFacts], chapter_ids: Sequence[int]
) -> dict[str, Any]:
    body = plain_text(resource.body)
    if resource.summary:
        # The demo's bodies repeat the summary; counting it twice skews tf.
        body = body.replace(resource.summary, " ")
    points = [str(point) for point in resource.knowledge_points or ()]
    return {
        **_base("resource", resource.pk),
        "title": resource.title,
        "summary": resource.summary,
        **_text_fields(resource.title, " ".join([resource.summary, body, *points])),
        "course_words": analysis.joined(word for facts in courses for word in facts.words),
        "codes": sorted({facts.code for facts in courses}),
        "course_ids": sorted({facts.course_id for facts in courses}),
        "course_title": courses[0].title if courses else "",
        "majors": sorted({major for facts in courses for major in facts.majors}),
        "exam_universities": sorted(
            {university for facts in courses for university in facts.exam_universities}
        ),
        "college": resource.institution.code,
        "resource_type": resource.resource_type,
        "difficulty": resource.difficulty,
        "knowledge_points": points,
        "chapter_ids": sorted(chapter_ids),
        "published_at": iso(resource.last_published_at),
        "updated_at": iso(resource.updated_at),
    }


# -- building sources from the database ----------------------------------------


def _batches(queryset: QuerySet[Any], ids: Sequence[int] | None) -> Iterator[list[Any]]:
    """Rows in primary-key batches (keyset, not OFFSET: constant cost per batch)."""
    if ids is not None:
        ids = sorted(set(ids))
        for start in range(0, len(ids), BATCH):
            yield list(queryset.filter(pk__in=ids[start : start + BATCH]).order_by("pk"))
        return
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not rows:
            return
        yield rows
        last = rows[-1].pk


def course_sources(ids: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
    queryset = selectors.courses_public().select_related("institution")
    for courses in _batches(queryset, ids):
        facts = _course_facts(courses)
        for course in courses:
            yield course_source(course, facts[course.pk])


def _parent_courses(chapters: Sequence[ChapterPage]) -> dict[int, CourseFacts]:
    """Chapter id → its course's facts, in one query for the parents."""
    parent_paths = {chapter.pk: chapter.path[: -ChapterPage.steplen] for chapter in chapters}
    courses = {
        course.path: course
        for course in CoursePage.objects.filter(path__in=set(parent_paths.values()))
    }
    facts = _course_facts(courses.values())
    return {
        chapter_id: facts[courses[path].pk]
        for chapter_id, path in parent_paths.items()
        if path in courses
    }


def chapter_sources(ids: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
    queryset = selectors.chapters_public().select_related("institution")
    for chapters in _batches(queryset, ids):
        parents = _parent_courses(chapters)
        for chapter in chapters:
            position = CoursePage._str2int(chapter.path[-ChapterPage.steplen :])
            yield chapter_source(chapter, parents[chapter.pk], position)


def resource_sources(ids: Sequence[int] | None = None) -> Iterator[dict[str, Any]]:
    queryset = selectors.resources_public().select_related("institution")
    for resources in _batches(queryset, ids):
        links = ChapterResource.objects.filter(
            resource_id__in=[resource.pk for resource in resources],
            chapter__in=selectors.chapters_public(),
        ).select_related("chapter")
        chapters_of: dict[int, list[ChapterPage]] = defaultdict(list)
        for link in links:
            chapters_of[link.resource_id].append(link.chapter)
        parents = _parent_courses([chapter for group in chapters_of.values() for chapter in group])
        for resource in resources:
            chapters = chapters_of.get(resource.pk, [])
            courses = list(
                {
                    parents[chapter.pk].course_id: parents[chapter.pk]
                    for chapter in chapters
                    if chapter.pk in parents
                }.values()
            )
            yield resource_source(resource, courses, [chapter.pk for chapter in chapters])


SOURCES = {"course": course_sources, "chapter": chapter_sources, "resource": resource_sources}


def public_counts() -> dict[str, int]:
    """How many documents a complete index holds, per kind (progress bars, reconcile)."""
    return {
        "course": selectors.courses_public().count(),
        "chapter": selectors.chapters_public().count(),
        "resource": selectors.resources_public().count(),
    }


def all_sources() -> Iterator[dict[str, Any]]:
    for kind in KINDS:
        yield from SOURCES[kind]()


def strip_meta(source: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in source.items() if not key.startswith("_")}
