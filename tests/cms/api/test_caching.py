"""Strong ETags, 304 revalidation and Cache-Control (issue #3, caching)."""

from __future__ import annotations

import pytest

from cms import services
from cms.api import response_cache
from cms.models import Resource
from tests.media_pipeline.worker import ThrowawayRedis


def _publish_title(resource: Resource, title: str) -> None:
    resource = Resource.objects.get(pk=resource.pk)
    resource.title = title
    resource.save_revision().publish()


@pytest.fixture
def outline_url(course_a, college_b, make_resource):
    """An outline whose only chapter lists a resource owned by another college."""
    shared = make_resource(institution=college_b, title="乙校视频")
    services.chapter_create(course=course_a, title="第一章", resources=[shared])
    return f"/api/v1/courses/{course_a.pk}", shared


@pytest.mark.parametrize(
    "path", ["/api/v1/resources", "/api/v1/courses", "/api/v1/institutions", "/api/v1/majors"]
)
def test_every_get_has_a_strong_etag_and_public_cache_control(api, db, path):
    response = api.get(path)

    assert response["ETag"].startswith('"')
    assert response["Cache-Control"] == "public, max-age=60, stale-while-revalidate=60"


def test_matching_if_none_match_gets_304_with_empty_body(api, outline_url):
    url, _ = outline_url
    etag = api.get(url)["ETag"]

    response = api.get(url, HTTP_IF_NONE_MATCH=etag)

    assert (response.status_code, response.content, response["ETag"]) == (304, b"", etag)


def test_a_weak_form_of_the_etag_also_revalidates(api, outline_url):
    url, _ = outline_url
    etag = api.get(url)["ETag"]

    assert api.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304


def test_a_stale_etag_gets_the_full_body(api, outline_url):
    url, _ = outline_url

    assert api.get(url, HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_outline_etag_changes_when_another_college_edits_a_listed_resource(api, outline_url):
    url, shared = outline_url
    before = api.get(url)["ETag"]

    _publish_title(shared, "乙校视频（修订）")

    assert api.get(url)["ETag"] != before


def test_outline_etag_stays_when_a_listed_resource_only_gets_a_draft(api, outline_url):
    url, shared = outline_url
    before = api.get(url)["ETag"]

    shared.title = "未发布的草稿标题"
    shared.save_revision()

    assert api.get(url)["ETag"] == before


def test_outline_etag_stays_when_an_unlisted_resource_is_edited(api, outline_url, make_resource):
    url, _ = outline_url
    unrelated = make_resource(title="无关资源")
    before = api.get(url)["ETag"]

    _publish_title(unrelated, "无关资源（修订）")

    assert api.get(url)["ETag"] == before


def test_outline_etag_changes_when_a_listed_resource_is_unpublished(api, outline_url):
    url, shared = outline_url
    before = api.get(url)["ETag"]

    Resource.objects.get(pk=shared.pk).unpublish()

    assert api.get(url)["ETag"] != before


def test_outline_etag_changes_when_a_chapter_is_published(api, outline_url, course_a):
    url, _ = outline_url
    before = api.get(url)["ETag"]

    services.chapter_create(course=course_a, title="第二章")

    assert api.get(url)["ETag"] != before


def test_problem_responses_are_not_cached(api, db):
    assert api.get("/api/v1/resources?limit=0")["Cache-Control"] == "no-store"


# -- the response cache (cms/api/response_cache.py) ----------------------------


def test_revalidating_a_cached_outline_costs_no_sql(api, outline_url, django_assert_num_queries):
    url, _ = outline_url
    etag = api.get(url)["ETag"]

    with django_assert_num_queries(0):
        response = api.get(url, HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_a_cached_outline_answers_with_the_same_body_and_etag(api, outline_url):
    url, _ = outline_url
    first = api.get(url)

    second = api.get(url)

    assert (second.content, second["ETag"]) == (first.content, first["ETag"])
    assert second["Cache-Control"] == "public, max-age=60, stale-while-revalidate=60"


def test_moving_a_chapter_to_another_course_refreshes_both_outlines(
    api, outline_url, course_a, college_a
):
    url, _ = outline_url
    other = services.course_create(institution=college_a, code="00018", title="计算机应用基础")
    other_url = f"/api/v1/courses/{other.pk}"
    before = {u: api.get(u).json() for u in (url, other_url)}

    course_a.get_children().first().specific.move(other, pos="last-child")

    after = {u: api.get(u).json() for u in (url, other_url)}
    assert len(before[url]["chapters"]) - 1 == len(after[url]["chapters"])
    assert len(before[other_url]["chapters"]) + 1 == len(after[other_url]["chapters"])


def test_an_api_key_is_still_checked_on_a_cached_url(api, outline_url):
    url, _ = outline_url
    assert api.get(url).status_code == 200

    assert api.get(url, HTTP_X_API_KEY="wx_nope_nope").status_code == 401


def test_with_the_cache_off_every_request_is_built(
    api, outline_url, settings, django_assert_num_queries
):
    settings.WANXUE_API_RESPONSE_CACHE = False
    url, _ = outline_url
    etag = api.get(url)["ETag"]

    with django_assert_num_queries(6):
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.services
def test_with_redis_down_editors_save_and_the_api_answers_from_the_database(
    api, outline_url, settings, tmp_path
):
    """RELIABILITY C7 for the cache: REDIS_URL is also the API's cache, and
    with it gone a save must still commit and learners must still read."""
    url, shared = outline_url
    redis_server = ThrowawayRedis(tmp_path / "redis")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    assert api.get(url).json()["chapters"][0]["resources"][0]["title"] == "乙校视频"  # cached
    redis_server.kill()

    _publish_title(shared, "乙校视频（停机时修订）")  # the editor's save commits

    assert Resource.objects.get(pk=shared.pk).title == "乙校视频（停机时修订）"
    response = api.get(url)  # built from the database, rate limit not counted
    assert response.status_code == 200
    assert response.json()["chapters"][0]["resources"][0]["title"] == "乙校视频（停机时修订）"

    redis_server.start()  # back, empty: caching resumes with the current content
    assert api.get(url).json()["chapters"][0]["resources"][0]["title"] == "乙校视频（停机时修订）"
    assert redis_server.client().exists(f":1:{response_cache.GENERATION_KEY}")
    redis_server.kill()
