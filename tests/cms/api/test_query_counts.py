"""RELIABILITY.md A10: a request costs the same number of queries for 10 items
as for 200 — selectors prefetch, presenters never query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms import services
from cms.api.routers import sync
from cms.models import ChapterPage, ChapterResource, CoursePage, Institution, Major, MajorCourse


def _queries(api, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


def _courses(college, count: int) -> list[CoursePage]:
    """Live courses added straight to the tree: a revision per course would
    make the 200-item cases slow without changing what the API reads."""
    courses = []
    for index in range(count):
        course = CoursePage(
            title=f"课程{index}",
            slug=f"c{index}",
            code=f"9{index:04d}",
            institution=college,
            live=True,
        )
        college.root_page.add_child(instance=course)
        courses.append(course)
    return courses


@pytest.mark.parametrize("count", [10, 200])
def test_resource_list_costs_one_query(api, bulk_resources, count):
    bulk_resources(count)

    assert _queries(api, "/api/v1/resources?limit=100&fields=id,title,document,media") == 1


@pytest.mark.parametrize("count", [10, 200])
def test_outline_costs_the_same_for_10_and_200_resources(api, course_a, bulk_resources, count):
    resources = bulk_resources(count)
    per_chapter = count // 10
    for number in range(10):
        services.chapter_create(
            course=course_a,
            title=f"第{number + 1}章",
            resources=resources[number * per_chapter : (number + 1) * per_chapter],
        )

    # view restrictions ×2, course, majors, chapters, chapter resources
    assert _queries(api, f"/api/v1/courses/{course_a.pk}") == 6


@pytest.mark.parametrize("count", [10, 200])
def test_chapter_list_costs_the_same_for_10_and_200_chapters(api, course_a, bulk_resources, count):
    resources = bulk_resources(2)
    for number in range(count):
        copy = ChapterPage(
            title=f"第{number}章", slug=f"c{number}", institution=course_a.institution, live=True
        )
        course_a.add_child(instance=copy)
        ChapterResource.objects.create(chapter=copy, resource=resources[0], sort_order=0)

    # view restrictions ×2 (chapters, their courses), chapters, chapter resources
    assert _queries(api, "/api/v1/chapters?limit=100") == 4


@pytest.mark.parametrize("count", [10, 200])
def test_course_list_costs_the_same_for_10_and_200_courses(api, college_a, count):
    _courses(college_a, count)

    # view restrictions, courses with their institutions
    assert _queries(api, "/api/v1/courses?limit=100") == 2


@pytest.mark.parametrize("count", [10, 200])
def test_major_list_costs_the_same_for_10_and_200_plan_entries(api, college_a, home, count):
    exam = services.institution_ensure(
        code="ahu", name="安徽大学", kind="exam_university", home=home
    )
    courses = _courses(college_a, count)
    for index in range(10):
        major = Major.objects.create(
            code=f"05{index:04d}", name=f"专业{index}", level="本科", institution=exam
        )
        MajorCourse.objects.bulk_create(
            MajorCourse(major=major, course=course, sort_order=order)
            for order, course in enumerate(courses[index::10] if count > 10 else courses)
        )

    # view restrictions, majors, plans with their courses
    assert _queries(api, "/api/v1/majors?limit=100") == 3


@pytest.mark.parametrize("count", [10, 200])
def test_institution_list_costs_one_query(api, db, count):
    Institution.objects.bulk_create(
        Institution(code=f"inst-{index}", name=f"院校{index}", kind="partner_college")
        for index in range(count)
    )

    assert _queries(api, "/api/v1/institutions?limit=100") == 1


@pytest.mark.parametrize("count", [10, 200])
def test_sync_page_costs_the_same_for_10_and_200_changes(
    api, course_a, bulk_resources, monkeypatch, count
):
    monkeypatch.setattr(sync, "SETTLE_SECONDS", 0)  # count what was just published
    services.chapter_create(course=course_a, title="第一章", resources=bulk_resources(count))

    with CaptureQueriesContext(connection) as queries:
        changes = api.get("/api/v1/sync?limit=100").json()["changes"]

    assert len(changes) == 2 + min(count, 98)
    # courses (restrictions, rows), chapters (restrictions ×2, rows, resources), resources
    assert len(queries) == 7
