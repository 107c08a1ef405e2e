"""Search tests run against the real Elasticsearch (never a mock), in indexes
named ``test_search_*`` so a developer's index is never touched.

Celery runs eagerly here: an enqueued drain runs in the test's process, on the
test's database connection (the task is real; only the broker hop is skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings

from cms import services
from cms.models import ChapterPage, CoursePage, Institution, Major, MajorCourse, Resource
from search import indexing
from search.backends.elasticsearch import client
from settings.celery import app as celery_app

TEST_PREFIX = "test_search_"


@pytest.fixture(scope="session", autouse=True)
def _search_test_settings() -> Iterator[None]:
    saved = settings.SEARCH_INDEX_PREFIX
    settings.SEARCH_INDEX_PREFIX = TEST_PREFIX
    celery_app.conf.task_always_eager = True
    # Failures inside an eager task reach the caller like a real worker's
    # failure reaches the log: the save path must survive them (S1).
    celery_app.conf.task_eager_propagates = False
    if not settings.ELASTICSEARCH_URL:
        pytest.fail("the search tests need ELASTICSEARCH_URL (scripts/services up elasticsearch)")
    yield
    client().indices.delete(index=f"{TEST_PREFIX}*", ignore_unavailable=True)
    settings.SEARCH_INDEX_PREFIX = saved


@pytest.fixture
def clean_index() -> str:
    """An empty index behind the alias."""
    client().indices.delete(index=f"{TEST_PREFIX}*", ignore_unavailable=True)
    return indexing.index_ensure()


@dataclass
class SmallNetwork:
    """A deterministic network small enough to build per test (~1 s)."""

    university: Institution
    college_a: Institution
    college_b: Institution
    major: Major
    accounting: CoursePage
    english: CoursePage
    java: CoursePage
    draft_course: CoursePage
    chapters: dict[str, ChapterPage]
    resources: dict[str, Resource]


def _resource(institution: Institution, title: str, kind: str, **fields: Any) -> Resource:
    resource = services.resource_create(
        institution=institution,
        title=title,
        resource_type=kind,
        summary=fields.pop("summary", f"{title}的学习材料。"),
        **fields,
    )
    # Publishing works on a copy (the revision's object): read the row again.
    return Resource.objects.get(pk=resource.pk)


@pytest.fixture
def small_network(db, clean_index) -> SmallNetwork:
    home = services.network_ensure()
    university = services.institution_ensure(
        code="aufe", name="安徽财经大学", kind=Institution.Kind.EXAM_UNIVERSITY, home=home
    )
    college_a = services.institution_ensure(
        code="college-a", name="甲职业学院", kind=Institution.Kind.PARTNER_COLLEGE, home=home
    )
    college_b = services.institution_ensure(
        code="college-b", name="乙职业学院", kind=Institution.Kind.PARTNER_COLLEGE, home=home
    )
    accounting = services.course_create(institution=college_a, code="00041", title="基础会计学")
    english = services.course_create(institution=college_a, code="00015", title="英语（二）")
    java = services.course_create(
        institution=college_b, code="04747", title="Java语言程序设计（一）"
    )
    draft_course = services.course_create(
        institution=college_b, code="00999", title="会计秘密草稿课程", publish=False
    )
    major = Major.objects.create(
        code="120203K", name="会计学", level="本科", institution=university
    )
    MajorCourse.objects.create(major=major, course=accounting, sort_order=0)
    resources = {
        "elements": _resource(
            college_a,
            "会计要素与会计等式：课程讲义",
            "document",
            knowledge_points=["会计要素", "会计等式"],
            difficulty=2,
        ),
        "elements_video": _resource(
            college_a, "会计要素与会计等式 · 重点精讲视频", "video", difficulty=3
        ),
        "vocabulary": _resource(college_a, "语音与词汇：章节练习（20题）", "exercise_set"),
        "java_basics": _resource(college_b, "Java语言基础：学习指导", "article", difficulty=1),
        "draft": _resource(college_a, "会计要素草稿讲义", "document", publish=False),
    }
    chapters = {
        "elements": services.chapter_create(
            course=accounting,
            title="第二章 会计要素与会计等式",
            resources=[resources["elements"], resources["elements_video"], resources["draft"]],
        ),
        "vocabulary": services.chapter_create(
            course=english, title="第二章 语音与词汇", resources=[resources["vocabulary"]]
        ),
        "java_basics": services.chapter_create(
            course=java, title="第一章 Java语言基础", resources=[resources["java_basics"]]
        ),
    }
    # Publishing works on copies (revisions' objects): read the rows again.
    accounting, english, java, draft_course = (
        CoursePage.objects.get(pk=course.pk) for course in (accounting, english, java, draft_course)
    )
    chapters = {key: ChapterPage.objects.get(pk=chapter.pk) for key, chapter in chapters.items()}
    return SmallNetwork(
        university=university,
        college_a=college_a,
        college_b=college_b,
        major=major,
        accounting=accounting,
        english=english,
        java=java,
        draft_course=draft_course,
        chapters=chapters,
        resources=resources,
    )


@pytest.fixture
def indexed_network(small_network) -> SmallNetwork:
    """The small network in a fresh index, through the real sync path: its
    saves left outbox rows (their after-commit drain never ran inside the
    test's transaction), and draining them indexes everything."""
    assert indexing.drain_all() > 0
    client().indices.refresh(index=indexing.alias_name())
    return small_network


@pytest.fixture
def api(client):
    """The Django test client, anonymous: search serves public content to anyone."""
    return client
