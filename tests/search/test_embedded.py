"""The embedded backend (SQLite FTS5): the same API and the same Chinese
handling as Elasticsearch, for the quick start without servers."""

from __future__ import annotations

import pytest

from search.backends import active_backend
from search.backends.embedded import EmbeddedBackend

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def embedded(settings, tmp_path, small_network):
    settings.ELASTICSEARCH_URL = ""
    settings.SEARCH_EMBEDDED_PATH = str(tmp_path / "search.sqlite3")
    backend = active_backend()
    assert isinstance(backend, EmbeddedBackend)
    backend.rebuild()
    return small_network


def _search(api, **params):
    response = api.get("/api/v1/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_course_names_abbreviations_codes_latin_and_traditional(api, embedded):
    net = embedded
    first = _search(api, q="基础会计学")["items"][0]
    assert (first["id"], first["highlights"]["title"]) == (net.accounting.pk, "<em>基础会计学</em>")
    assert _search(api, q="英二")["items"][0]["id"] == net.english.pk
    assert _search(api, q="00015")["items"][0]["id"] == net.english.pk
    assert _search(api, q="ＪＡＶＡ")["items"][0]["id"] == net.java.pk
    assert _search(api, q="會計要素")["items"][0]["title"] == "第二章 会计要素与会计等式"


def test_facets_and_filters_match_the_elasticsearch_answers(api, embedded):
    body = _search(api, q="会计要素")
    facets = {n: {v["value"]: v["count"] for v in values} for n, values in body["facets"].items()}

    assert body["total"] == 3
    assert facets["kind"] == {"chapter": 1, "resource": 2}
    assert facets["majors"] == {"120203K": 3}
    assert _search(api, q="会计要素", resource_type="video")["total"] == 1
    assert _search(api, q="会计要素", college="college-b")["total"] == 0


def test_drafts_never_appear(api, embedded):
    assert _search(api, q="草稿")["total"] == 0


HOSTILE = ('"((((会计', "会计 AND OR NOT", "NEAR(a b)", "*", "col:会计")


def test_query_syntax_is_plain_text(api, embedded):
    for query in HOSTILE:
        assert api.get("/api/v1/search", {"q": query}).status_code == 200


def test_suggest_by_pinyin_and_initials(api, embedded):
    for prefix in ("kuaiji", "kj"):
        suggestions = api.get("/api/v1/search/suggest", {"q": prefix}).json()["suggestions"]
        assert suggestions[0]["text"] == "基础会计学"


def test_publishing_and_unpublishing_reach_the_embedded_index(
    api, embedded, django_capture_on_commit_callbacks
):
    from cms import services
    from cms.models import Resource

    with django_capture_on_commit_callbacks(execute=True):
        resource = services.resource_create(
            institution=embedded.college_b, title="Java异常处理：课程讲义", resource_type="document"
        )
    assert _search(api, q="异常处理")["total"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        Resource.objects.get(pk=resource.pk).unpublish()
    assert _search(api, q="异常处理")["total"] == 0


def test_pinyin_in_the_search_box(api, embedded):
    for query in ("kuaiji", "kj"):
        first = _search(api, q=query)["items"][0]
        assert (first["kind"], first["id"]) == ("course", embedded.accounting.pk)


def test_the_rebuild_command_builds_the_embedded_file(settings, tmp_path, small_network):
    from io import StringIO

    from django.core.management import call_command

    settings.ELASTICSEARCH_URL = ""
    settings.SEARCH_EMBEDDED_PATH = str(tmp_path / "search.sqlite3")
    out = StringIO()

    call_command("search_index", "rebuild", stdout=out)

    assert out.getvalue().startswith(f"embedded: 10 documents into {tmp_path}")
