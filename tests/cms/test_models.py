"""The content model: ownership follows the tree, resources validate, references hold."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from wagtail.models import Page

from cms import services
from cms.models import ChapterPage, ChapterResource, CoursePage, Resource, ResourceType
from cms.models.courses import OwnedPageForm

pytestmark = pytest.mark.django_db


def test_institution_setup_creates_groups_collection_and_subtree(college_a):
    assert college_a.editors_group.name == "甲职业学院 编辑"
    assert college_a.reviewers_group.name == "甲职业学院 审核"
    assert college_a.collection.name == "甲职业学院"
    assert college_a.root_page.specific.institution_id == college_a.pk
    assert college_a.root_page.live is True
    assert set(
        college_a.reviewers_group.page_permissions.values_list("permission__codename", flat=True)
    ) == {"add_page", "change_page", "lock_page", "publish_page", "unlock_page"}


def test_institution_setup_is_idempotent(home, college_a):
    pages_before = Page.objects.count()
    again = services.institution_ensure(
        code="college-a", name="甲职业学院", kind="partner_college", home=home
    )
    assert again.pk == college_a.pk
    assert Page.objects.count() == pages_before


def test_chapter_keeps_its_resources_in_order(college_a):
    course = services.course_create(institution=college_a, code="00015", title="英语（二）")
    resources = [
        services.resource_create(
            institution=college_a, title=f"第{n}讲", resource_type=ResourceType.DOCUMENT
        )
        for n in (1, 2, 3)
    ]
    chapter = services.chapter_create(
        course=course, title="第一章 导论", resources=[resources[2], resources[0], resources[1]]
    )
    stored = ChapterPage.objects.get(pk=chapter.pk)
    assert [item.resource.title for item in stored.chapter_resources.all()] == [
        "第3讲",
        "第1讲",
        "第2讲",
    ]
    assert stored.institution_id == college_a.pk
    assert stored.live_revision.content["chapter_resources"][0]["resource"] == resources[2].pk


def test_chapter_may_reference_another_colleges_published_resource(college_a, college_b):
    shared = services.resource_create(
        institution=college_b, title="乙校公开讲义", resource_type=ResourceType.DOCUMENT
    )
    course = services.course_create(institution=college_a, code="00034", title="社会学概论")
    chapter = services.chapter_create(course=course, title="第一章", resources=[shared])
    assert ChapterResource.objects.get(chapter=chapter).resource.institution_id == college_b.pk


def test_deleting_a_referenced_resource_is_refused(college_a):
    resource = services.resource_create(
        institution=college_a, title="被引用的资源", resource_type=ResourceType.VIDEO
    )
    course = services.course_create(institution=college_a, code="00041", title="基础会计学")
    services.chapter_create(course=course, title="第一章", resources=[resource])
    with pytest.raises(ProtectedError):
        resource.delete()
    assert Resource.objects.filter(pk=resource.pk).exists()


def test_link_resource_needs_a_url(college_a):
    with pytest.raises(ValidationError) as error:
        services.resource_create(
            institution=college_a, title="外部链接", resource_type=ResourceType.LINK
        )
    assert error.value.message_dict == {"external_url": ["A link resource needs its URL."]}


@pytest.mark.parametrize("points", ["不是列表", [1, 2], [{"a": 1}]])
def test_knowledge_points_must_be_a_list_of_names(college_a, points):
    with pytest.raises(ValidationError) as error:
        services.resource_create(
            institution=college_a,
            title="讲义",
            resource_type=ResourceType.DOCUMENT,
            knowledge_points=points,
        )
    assert error.value.message_dict == {"knowledge_points": ["Give a list of topic names."]}


def test_draft_resource_is_not_live_until_published(college_a):
    resource = services.resource_create(
        institution=college_a, title="草稿", resource_type=ResourceType.ARTICLE, publish=False
    )
    assert resource.live is False
    assert resource.latest_revision is not None
    assert resource.live_revision is None
    resource.latest_revision.publish()
    resource.refresh_from_db()
    assert resource.live is True
    assert resource.live_revision_id == resource.latest_revision_id


def test_course_page_form_takes_its_owner_from_the_tree(college_a, college_b):
    form_class = CoursePage.get_edit_handler().get_form_class()
    assert issubclass(form_class, OwnedPageForm)
    assert "institution" not in form_class.base_fields
    form = form_class(
        data={"title": "新课程", "slug": "new-course", "code": "00099", "credits": "4"},
        instance=CoursePage(),
        parent_page=college_b.root_page,
        for_user=None,
    )
    assert form.is_valid(), form.errors
    assert form.instance.institution_id == college_b.pk
