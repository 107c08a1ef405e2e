"""Course outlines, chapters and majors: whole outline in one call, published only."""

from __future__ import annotations

from cms import services
from cms.models import Major, MajorCourse, ResourceType


def test_outline_lists_chapters_in_order_with_resources_in_order(api, course_a, make_resource):
    first, second, third = make_resource(), make_resource(), make_resource()
    chapter_1 = services.chapter_create(course=course_a, title="第一章", resources=[second, first])
    chapter_2 = services.chapter_create(course=course_a, title="第二章", resources=[third])

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert [(c["id"], [r["id"] for r in c["resources"]]) for c in outline["chapters"]] == [
        (chapter_1.pk, [second.pk, first.pk]),
        (chapter_2.pk, [third.pk]),
    ]


def test_outline_counts_resources_per_type_per_chapter_and_in_total(api, course_a, make_resource):
    video, document = make_resource(), make_resource(resource_type=ResourceType.DOCUMENT)
    exercise = make_resource(resource_type=ResourceType.EXERCISE_SET)
    services.chapter_create(course=course_a, title="第一章", resources=[video, document])
    services.chapter_create(course=course_a, title="第二章", resources=[exercise])

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    zero = dict.fromkeys(ResourceType.values, 0)
    assert [c["resource_counts"] for c in outline["chapters"]] == [
        {**zero, "video": 1, "document": 1},
        {**zero, "exercise_set": 1},
    ]
    assert outline["resource_counts"] == {**zero, "video": 1, "document": 1, "exercise_set": 1}


def test_outline_leaves_out_unpublished_resources(api, course_a, make_resource):
    published, draft = make_resource(), make_resource(publish=False)
    services.chapter_create(course=course_a, title="第一章", resources=[published, draft])

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert [r["id"] for r in outline["chapters"][0]["resources"]] == [published.pk]


def test_outline_leaves_out_draft_chapters(api, course_a):
    services.chapter_create(course=course_a, title="已发布")
    services.chapter_create(course=course_a, title="草稿", publish=False)

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert [c["title"] for c in outline["chapters"]] == ["已发布"]


def test_outline_shows_published_text_not_the_newer_draft(api, course_a):
    course_a.title = "草稿标题"
    course_a.save_revision()

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert outline["title"] == "英语（二）"


def test_outline_of_a_draft_course_is_a_404_problem(api, college_a):
    draft = services.course_create(institution=college_a, code="00016", title="草稿", publish=False)

    response = api.get(f"/api/v1/courses/{draft.pk}")

    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
    assert response.json()["title"] == "Not found"


def test_outline_includes_another_colleges_published_resource(
    api, course_a, college_b, make_resource
):
    shared = make_resource(institution=college_b, title="乙校视频")
    services.chapter_create(course=course_a, title="第一章", resources=[shared])

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert outline["chapters"][0]["resources"][0]["institution"] == {
        "id": college_b.pk,
        "code": "college-b",
        "name": "乙职业学院",
    }


def test_outline_names_the_majors_whose_plan_has_the_course(api, course_a, home):
    exam = services.institution_ensure(
        code="ahu", name="安徽大学", kind="exam_university", home=home
    )
    major = Major.objects.create(code="050201", name="英语", level="本科", institution=exam)
    MajorCourse.objects.create(major=major, course=course_a, sort_order=0)

    outline = api.get(f"/api/v1/courses/{course_a.pk}").json()

    assert outline["majors"] == [{"code": "050201", "name": "英语", "level": "本科"}]


def test_chapter_list_gives_each_chapters_course(api, course_a):
    chapter = services.chapter_create(course=course_a, title="第一章")

    items = api.get("/api/v1/chapters").json()["items"]

    assert [(item["id"], item["course_id"]) for item in items] == [(chapter.pk, course_a.pk)]


def test_chapter_list_hides_chapters_of_an_unpublished_course(api, course_a):
    services.chapter_create(course=course_a, title="第一章")
    course_a.unpublish()

    assert api.get("/api/v1/chapters").json()["items"] == []


def test_chapter_list_filters_by_course_code(api, college_a, course_a):
    other = services.course_create(institution=college_a, code="03708", title="中国近现代史纲要")
    services.chapter_create(course=course_a, title="英语第一章")
    services.chapter_create(course=other, title="近代史第一章")

    items = api.get("/api/v1/chapters?course_code=03708").json()["items"]

    assert [item["title"] for item in items] == ["近代史第一章"]


def test_major_plan_lists_published_courses_in_plan_order(api, college_a, course_a, home):
    exam = services.institution_ensure(
        code="ahu", name="安徽大学", kind="exam_university", home=home
    )
    second = services.course_create(institution=college_a, code="03708", title="近代史")
    draft = services.course_create(institution=college_a, code="00017", title="草稿", publish=False)
    major = Major.objects.create(code="050201", name="英语", level="本科", institution=exam)
    for order, course in enumerate([second, draft, course_a]):
        MajorCourse.objects.create(major=major, course=course, sort_order=order)

    body = api.get("/api/v1/majors/050201").json()

    assert [(e["position"], e["course"]["code"]) for e in body["course_plan"]] == [
        (1, "03708"),
        (2, "00015"),
    ]


def test_unknown_major_is_a_404_problem(api, db):
    response = api.get("/api/v1/majors/999999")

    assert (response.status_code, response.json()["status"]) == (404, 404)


def test_institution_list_filters_by_kind(api, college_a, college_b, home):
    services.institution_ensure(code="ahu", name="安徽大学", kind="exam_university", home=home)

    items = api.get("/api/v1/institutions?kind=exam_university").json()["items"]

    assert [item["code"] for item in items] == ["ahu"]
