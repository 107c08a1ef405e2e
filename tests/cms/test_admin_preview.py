"""The admin's "Preview on phone" screen (issue #3: preview link and QR code)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from cms import services
from cms.models import Resource, ResourceType


@pytest.fixture
def course(college_a):
    return services.course_create(institution=college_a, code="00015", title="英语（二）")


@pytest.fixture
def resource(college_a):
    resource = services.resource_create(
        institution=college_a, title="甲校视频", resource_type=ResourceType.VIDEO
    )
    return Resource.objects.get(pk=resource.pk)


def _preview_screen(client, kind, object_id):
    return client.get(reverse("cms_api_preview", args=[kind, object_id]))


def _link_in(body: str) -> str:
    start = body.index('id="preview-url" type="text" readonly value="') + 45
    return body[start : body.index('"', start)].replace("&amp;", "&")


def test_the_course_editor_shows_a_preview_on_phone_button(client_for, editor_a, course):
    response = client_for(editor_a).get(reverse("wagtailadmin_pages:edit", args=[course.pk]))

    assert reverse("cms_api_preview", args=["page", course.pk]) in response.content.decode()


def test_the_resource_editor_shows_a_preview_on_phone_button(client_for, editor_a, resource):
    url = reverse("wagtailsnippets_cms_resource:edit", args=[resource.pk])

    response = client_for(editor_a).get(url)

    assert reverse("cms_api_preview", args=["resource", resource.pk]) in response.content.decode()


def test_a_draft_preview_link_and_qr_code_open_on_a_phone_without_cookies(
    client_for, editor_a, course
):
    course.title = "英语（二）草稿标题"
    course.save_revision(user=editor_a)

    response = _preview_screen(client_for(editor_a), "page", course.pk)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in body and "data-preview-qr" in body
    phone = Client()  # no session, no cookies
    preview = phone.get(_link_in(body))
    assert preview.status_code == 200
    assert preview.json()["course"]["title"] == "英语（二）草稿标题"


def test_a_resource_preview_link_shows_its_latest_draft(client_for, editor_a, resource):
    resource.title = "甲校视频（修订草稿）"
    resource.save_revision(user=editor_a)

    body = _preview_screen(client_for(editor_a), "resource", resource.pk).content.decode()

    assert Client().get(_link_in(body)).json()["resource"]["title"] == "甲校视频（修订草稿）"


@pytest.mark.parametrize("kind", ["page", "resource"])
def test_another_colleges_editor_gets_no_preview_link(
    client_for, editor_a, editor_b, course, resource, kind
):
    object_id = course.pk if kind == "page" else resource.pk
    assert _preview_screen(client_for(editor_a), kind, object_id).status_code == 200

    response = _preview_screen(client_for(editor_b), kind, object_id)

    assert response.status_code == 404
    assert "英语（二）" not in response.content.decode()
    assert "甲校视频" not in response.content.decode()


def test_an_unknown_kind_or_object_is_404(client_for, editor_a, course):
    client = client_for(editor_a)

    assert _preview_screen(client, "major", course.pk).status_code == 404
    assert _preview_screen(client, "page", 999_999).status_code == 404
