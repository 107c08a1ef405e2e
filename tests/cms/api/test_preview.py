"""Draft preview through short-lived signed tokens scoped to one revision."""

from __future__ import annotations

import time
from urllib.parse import quote

from django.test import Client
from wagtail.models import Revision

from cms import services
from cms.api import preview
from cms.models import ChapterPage, Resource


def _draft(make_resource, title: str = "草稿标题") -> tuple[Resource, int]:
    resource = make_resource(title="已发布标题")
    resource.title = title
    revision = resource.save_revision()
    return resource, revision.pk


def _token(revision_id: int) -> str:
    return preview.preview_token_create(revision=Revision.objects.get(pk=revision_id))[0]


def test_preview_shows_the_draft_without_cookies(make_resource):
    resource, revision_id = _draft(make_resource)

    body = Client().get(f"/api/v1/preview?token={quote(_token(revision_id))}").json()

    assert (body["kind"], body["resource"]["id"], body["resource"]["title"]) == (
        "resource",
        resource.pk,
        "草稿标题",
    )


def test_preview_is_never_cached(api, make_resource):
    _, revision_id = _draft(make_resource)

    response = api.get(f"/api/v1/preview?token={quote(_token(revision_id))}")

    assert response["Cache-Control"] == "private, no-store"


def test_a_token_stays_on_its_revision_after_a_newer_draft(api, make_resource):
    resource, revision_id = _draft(make_resource, "第一稿")
    token = _token(revision_id)
    resource.title = "第二稿"
    resource.save_revision()

    assert api.get(f"/api/v1/preview?token={quote(token)}").json()["resource"]["title"] == "第一稿"


def test_an_expired_token_is_refused(api, make_resource, monkeypatch):
    _, revision_id = _draft(make_resource)
    issued_at = time.time() - preview.PREVIEW_TTL_SECONDS - 1
    # The clock is the one thing a test cannot wait for: sign as if 15 min ago.
    monkeypatch.setattr("django.core.signing.time.time", lambda: issued_at)
    token = _token(revision_id)
    monkeypatch.undo()

    response = api.get(f"/api/v1/preview?token={quote(token)}")

    assert (response.status_code, response.json()["title"]) == (403, "Preview link expired")


def test_a_tampered_token_is_refused(api, make_resource):
    _, revision_id = _draft(make_resource)
    token = _token(revision_id)

    response = api.get(f"/api/v1/preview?token={quote(token[:-2] + 'xx')}")

    assert (response.status_code, response.json()["title"]) == (403, "Invalid preview link")


def test_chapter_preview_shows_the_draft_resource_list(api, course_a, make_resource):
    first, second = make_resource(), make_resource()
    chapter = services.chapter_create(course=course_a, title="第一章", resources=[first])
    chapter = ChapterPage.objects.get(pk=chapter.pk)
    chapter.chapter_resources.add(chapter.chapter_resources.model(resource=second, sort_order=1))
    revision = chapter.save_revision()

    body = api.get(f"/api/v1/preview?token={quote(_token(revision.pk))}").json()

    assert [r["id"] for r in body["chapter"]["resources"]] == [first.pk, second.pk]
    assert body["chapter"]["course_id"] == course_a.pk


def test_staff_get_a_preview_link_for_their_own_draft(client_for, editor_a, make_resource):
    _, revision_id = _draft(make_resource)
    client = client_for(editor_a)

    link = client.get(f"/api/v1/preview-links/{revision_id}").json()

    assert Client().get(link["url"]).json()["resource"]["title"] == "草稿标题"


def test_another_colleges_editor_gets_no_preview_link(client_for, editor_b, make_resource):
    _, revision_id = _draft(make_resource)

    assert client_for(editor_b).get(f"/api/v1/preview-links/{revision_id}").status_code == 404


def test_anonymous_gets_no_preview_link(api, make_resource):
    _, revision_id = _draft(make_resource)

    assert api.get(f"/api/v1/preview-links/{revision_id}").status_code == 404
