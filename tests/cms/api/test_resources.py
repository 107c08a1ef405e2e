"""Resource list and detail: filters, ordering, sparse fields, rendered body, media."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from wagtail.documents.models import Document

from cms import services
from cms.models import Resource, ResourceType


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def test_list_leaves_out_drafts(api, make_resource):
    published = make_resource()
    make_resource(publish=False)

    assert _ids(api.get("/api/v1/resources")) == [published.pk]


def test_list_leaves_out_unpublished_resources(api, make_resource):
    kept, withdrawn = make_resource(), make_resource()
    withdrawn.unpublish()

    assert _ids(api.get("/api/v1/resources")) == [kept.pk]


def test_detail_of_a_draft_is_a_404(api, make_resource):
    draft = make_resource(publish=False)

    assert api.get(f"/api/v1/resources/{draft.pk}").status_code == 404


def test_list_filters_by_type(api, make_resource):
    make_resource(resource_type=ResourceType.VIDEO)
    document = make_resource(resource_type=ResourceType.DOCUMENT)

    assert _ids(api.get("/api/v1/resources?resource_type=document")) == [document.pk]


def test_list_filters_by_college(api, make_resource, college_b):
    make_resource()
    theirs = make_resource(institution=college_b)

    assert _ids(api.get("/api/v1/resources?college=college-b")) == [theirs.pk]


def test_list_filters_by_knowledge_point(api, make_resource):
    grammar = make_resource(knowledge_points=["语法", "时态"])
    make_resource(knowledge_points=["词汇"])

    assert _ids(api.get("/api/v1/resources?knowledge_point=时态")) == [grammar.pk]


def test_list_filters_by_difficulty(api, make_resource):
    make_resource(difficulty=2)
    hard = make_resource(difficulty=5)

    assert _ids(api.get("/api/v1/resources?difficulty=5")) == [hard.pk]


def test_list_filters_by_course_code(api, course_a, make_resource):
    used, unused = make_resource(), make_resource()
    services.chapter_create(course=course_a, title="第一章", resources=[used])

    assert unused.pk not in _ids(api.get("/api/v1/resources?course_code=00015"))
    assert _ids(api.get("/api/v1/resources?course_code=00015")) == [used.pk]


def test_list_filters_by_ids(api, make_resource):
    first, _, third = make_resource(), make_resource(), make_resource()

    assert _ids(api.get(f"/api/v1/resources?ids={third.pk},{first.pk}")) == [first.pk, third.pk]


def test_list_filters_by_updated_since(api, make_resource):
    old, new = make_resource(), make_resource()
    Resource.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert _ids(api.get("/api/v1/resources", {"updated_since": since})) == [new.pk]


def test_updated_since_without_a_utc_offset_is_a_400(api, db):
    response = api.get("/api/v1/resources?updated_since=2026-01-01T00:00:00")

    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "updated_since"


def test_list_orders_by_difficulty_descending(api, make_resource):
    easy, hard, middle = (
        make_resource(difficulty=1),
        make_resource(difficulty=5),
        make_resource(difficulty=3),
    )

    assert _ids(api.get("/api/v1/resources?ordering=-difficulty")) == [hard.pk, middle.pk, easy.pk]


def test_unknown_ordering_is_a_400(api, db):
    response = api.get("/api/v1/resources?ordering=body")

    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "ordering"


def test_sparse_fields_return_only_the_named_fields_and_id(api, make_resource):
    resource = make_resource(title="语法精讲")

    items = api.get("/api/v1/resources?fields=title,difficulty").json()["items"]

    assert items == [{"id": resource.pk, "title": "语法精讲", "difficulty": 2}]


def test_unknown_sparse_field_is_a_400(api, db):
    assert api.get("/api/v1/resources?fields=title,password").status_code == 400


def test_detail_renders_body_without_scripts_or_event_handlers(api, make_resource):
    resource = make_resource(
        body='<p>正文</p><script>alert(1)</script><img src="x.png" onerror="alert(1)">'
    )

    body = api.get(f"/api/v1/resources/{resource.pk}").json()

    assert body["body_html"] == '<p>正文</p><img src="x.png">'


def test_detail_returns_title_as_plain_text_unchanged(api, make_resource):
    resource = make_resource(title="<b>标题</b>")

    assert api.get(f"/api/v1/resources/{resource.pk}").json()["title"] == "<b>标题</b>"


def test_document_is_a_full_object_with_an_absolute_url(api, make_resource, college_a):
    document = Document(title="讲义", collection=college_a.collection)
    document.file.save("handout.pdf", ContentFile(b"%PDF-1.4 test"), save=False)
    document.save()
    document.get_file_size()  # the upload form stores the size; do what it does
    resource = make_resource(resource_type=ResourceType.DOCUMENT, document=document)

    body = api.get(f"/api/v1/resources/{resource.pk}").json()

    assert body["document"] == {
        "id": document.pk,
        "title": "讲义",
        "filename": document.filename,
        "url": f"http://testserver/documents/{document.pk}/{document.filename}",
        "file_size": 13,
    }


def test_updated_since_with_an_offset_beyond_postgresql_range_is_accepted(api, make_resource):
    resource = make_resource()

    response = api.get("/api/v1/resources", {"updated_since": "2000-01-01T00:00:00+20:19"})

    assert _ids(response) == [resource.pk]


def test_updated_since_out_of_range_in_utc_is_a_400(api, db):
    response = api.get("/api/v1/resources", {"updated_since": "0001-01-01T00:00:00+01:00"})

    assert response.status_code == 400
