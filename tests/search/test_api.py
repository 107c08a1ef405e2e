"""GET /api/v1/search and /search/suggest against the real Elasticsearch."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings

from search import indexing
from search.backends.elasticsearch import client

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _search(api, **params):
    response = api.get("/api/v1/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def _titles(body) -> list[str]:
    return [item["title"] for item in body["items"]]


def test_a_course_name_finds_the_course_first_with_highlights(api, indexed_network):
    body = _search(api, q="基础会计学")

    first = body["items"][0]
    assert (first["kind"], first["id"], first["title"]) == (
        "course",
        indexed_network.accounting.pk,
        "基础会计学",
    )
    assert first["highlights"]["title"] == "<em>基础会计学</em>"
    assert first["course"] == {
        "id": indexed_network.accounting.pk,
        "code": "00041",
        "title": "基础会计学",
    }


def test_abbreviations_codes_latin_and_traditional_characters(api, indexed_network):
    net = indexed_network
    assert _search(api, q="英二")["items"][0]["id"] == net.english.pk
    assert _search(api, q="00015")["items"][0]["id"] == net.english.pk
    assert _search(api, q="ＪＡＶＡ")["items"][0]["id"] == net.java.pk
    assert _search(api, q="會計要素")["items"][0]["title"] == "第二章 会计要素与会计等式"


def test_facets_count_every_match_by_kind_type_college_and_major(api, indexed_network):
    body = _search(api, q="会计要素")

    facets = {
        name: {v["value"]: v["count"] for v in values} for name, values in body["facets"].items()
    }
    assert body["total"] == 3  # the chapter and its two published resources
    assert facets["kind"] == {"chapter": 1, "resource": 2}
    assert facets["resource_type"] == {"document": 1, "video": 1}
    assert facets["college"] == {"college-a": 3}
    assert facets["majors"] == {"120203K": 3}
    labels = {v["value"]: v["label"] for v in body["facets"]["majors"]}
    assert labels == {"120203K": "会计学"}


def test_filters_narrow_the_results(api, indexed_network):
    net = indexed_network
    assert _titles(_search(api, q="会计要素", resource_type="video")) == [
        "会计要素与会计等式 · 重点精讲视频"
    ]
    assert _search(api, q="会计要素", kind="chapter")["total"] == 1
    assert _search(api, q="会计要素", difficulty=2)["total"] == 1
    assert _search(api, q="会计要素", college="college-b")["total"] == 0
    assert _search(api, q="语言", course=net.java.pk)["total"] == 3
    assert _search(api, q="会计", major="120203K")["total"] == 4


def test_drafts_and_unpublished_content_never_appear(api, indexed_network):
    body = _search(api, q="草稿")

    assert body["total"] == 0


def test_documents_that_say_not_live_or_not_public_are_filtered_by_the_query(api, indexed_network):
    """S4/S11: even if such a document is in the index, the public query drops it."""
    alias = indexing.alias_name()
    leaked = {"title_words": "泄露 泄露测试", "title_bigrams": "泄露 露测 测试", "kind": "resource"}
    client().index(
        index=alias,
        id="resource-900001",
        document={**leaked, "object_id": 900001, "live": False, "public": True},
    )
    client().index(
        index=alias,
        id="resource-900002",
        document={**leaked, "object_id": 900002, "live": True, "public": False},
    )
    client().index(index=alias, id="resource-900003", document={**leaked, "object_id": 900003})
    client().indices.refresh(index=alias)

    assert _search(api, q="泄露")["total"] == 0
    assert api.get("/api/v1/search/suggest", {"q": "泄露"}).json()["suggestions"] == []


def test_deep_pages_neither_repeat_nor_skip(api, indexed_network):
    # Every resource of the fixture has the same summary: equal scores, so
    # only the tie-breaking sort keeps pages apart.
    whole = _search(api, q="学习材料", limit=100)
    paged = []
    for offset in range(whole["total"]):
        paged += [
            (i["kind"], i["id"])
            for i in _search(api, q="学习材料", offset=offset, limit=1)["items"]
        ]

    assert paged == [(i["kind"], i["id"]) for i in whole["items"]]
    assert len(set(paged)) == whole["total"] == 4


def test_recent_order_sorts_by_publication(api, indexed_network):
    items = _search(api, q="学习材料", order="recent", limit=100)["items"]

    stamps = [item["published_at"] for item in items]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "会" * 10_000}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "会计\x00"}, "q"),
        ({"q": "会计", "limit": 100_000}, "limit"),
        ({"q": "会计", "offset": 10_000_000}, "offset"),
        ({"q": "会计", "offset": 9_990, "limit": 20}, "offset"),
        ({"q": "会计", "kind": "page"}, "kind"),
    ],
)
def test_hostile_parameters_are_400_problems(api, indexed_network, params, parameter):
    """S10."""
    response = api.get("/api/v1/search", params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert parameter in {error["parameter"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    "query",
    [".*", '"((((会计', "会计 AND OR NOT", "\\", "会计~2^3", "[a-z]+", "{{7*7}}", "' OR 1=1 --"],
)
def test_query_syntax_is_plain_text(api, indexed_network, query):
    """S10: nothing a learner types is query syntax."""
    response = api.get("/api/v1/search", {"q": query})

    assert response.status_code == 200


def test_elasticsearch_down_is_a_503_problem(api, indexed_network):
    with override_settings(ELASTICSEARCH_URL="http://127.0.0.1:9"):
        response = api.get("/api/v1/search", {"q": "会计"})

    assert (response.status_code, response["Retry-After"]) == (503, "10")


@pytest.mark.parametrize("prefix", ["kuaiji", "kj", "会计", "KuaiJi"])
def test_suggest_finds_courses_by_characters_pinyin_and_initials(api, indexed_network, prefix):
    response = api.get("/api/v1/search/suggest", {"q": prefix})

    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert suggestions[0] == {
        "text": "基础会计学",
        "kind": "course",
        "id": indexed_network.accounting.pk,
        "course_code": "00041",
    }
    assert "会计秘密草稿课程" not in [s["text"] for s in suggestions]


def test_before_the_first_rebuild_search_answers_empty_not_an_error(api, db):
    client().indices.delete(index="test_search_*", ignore_unavailable=True)

    body = _search(api, q="会计")
    suggestions = api.get("/api/v1/search/suggest", {"q": "kj"}).json()["suggestions"]

    assert (body["total"], body["items"], suggestions) == (0, [], [])


@pytest.mark.parametrize("query", ["kuaiji", "kj", "KuaiJi"])
def test_pinyin_and_initials_in_the_search_box_find_courses(api, indexed_network, query):
    body = _search(api, q=query)

    assert (body["items"][0]["kind"], body["items"][0]["id"]) == (
        "course",
        indexed_network.accounting.pk,
    )
    assert "会计秘密草稿课程" not in _titles(body)
