"""Delta sync: a client that replays sync holds exactly the published set."""

from __future__ import annotations

from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from wagtail.actions.delete import DeleteAction

from cms import services
from cms.api.routers import sync as sync_module
from cms.models import ChapterPage, CoursePage, Resource


@pytest.fixture(autouse=True)
def no_settle_window(monkeypatch):
    # Tests publish and sync within milliseconds; the settle window exists for
    # transactions committing late, which a test does not have.
    monkeypatch.setattr(sync_module, "SETTLE_SECONDS", 0)


def _sync(api, token: str | None, limit: int = 100) -> tuple[list[dict], str]:
    """All pages of one sync; returns the changes and the token for next time."""
    changes: list[dict] = []
    while True:
        url = f"/api/v1/sync?limit={limit}" + (f"&since={quote(token)}" if token else "")
        response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        changes += body["changes"]
        token = body["next_token"]
        if not body["has_more"]:
            return changes, token


def _replay(changes: list[dict], held: dict | None = None) -> dict[str, set[int]]:
    held = held or {"course": set(), "chapter": set(), "resource": set()}
    for change in changes:
        if change["action"] == "upsert":
            held[change["kind"]].add(change["id"])
        else:
            held[change["kind"]].discard(change["id"])
    return held


def _published() -> dict[str, set[int]]:
    return {
        "course": set(CoursePage.objects.live().values_list("pk", flat=True)),
        "chapter": set(ChapterPage.objects.live().values_list("pk", flat=True)),
        "resource": set(Resource.objects.filter(live=True).values_list("pk", flat=True)),
    }


@pytest.fixture
def small_network(course_a, make_resource):
    resources = [make_resource() for _ in range(3)]
    make_resource(publish=False)
    services.chapter_create(course=course_a, title="第一章", resources=resources[:2])
    services.chapter_create(course=course_a, title="草稿章", publish=False)
    return resources


def test_replay_from_nothing_gives_exactly_the_published_set(api, small_network):
    changes, _ = _sync(api, None, limit=2)

    assert _replay(changes) == _published()


def test_pages_of_one_sync_never_repeat_a_change(api, small_network):
    changes, _ = _sync(api, None, limit=2)

    keys = [(change["kind"], change["id"]) for change in changes]
    assert len(keys) == len(set(keys)) == 5  # 1 course, 1 published chapter, 3 resources


def test_sync_after_a_token_returns_only_what_changed(api, small_network, make_resource):
    _, token = _sync(api, None)
    new = make_resource(title="新资源")

    changes, _ = _sync(api, token)

    assert [(c["kind"], c["id"], c["action"]) for c in changes] == [("resource", new.pk, "upsert")]


def test_an_upsert_carries_the_published_object(api, small_network, make_resource):
    _, token = _sync(api, None)
    new = make_resource(title="新资源")

    changes, _ = _sync(api, token)

    assert (changes[0]["resource"]["title"], changes[0]["course"]) == ("新资源", None)
    assert changes[0]["resource"]["id"] == new.pk


def test_a_draft_save_is_not_a_change(api, small_network):
    _, token = _sync(api, None)
    resource = Resource.objects.get(pk=small_network[0].pk)
    resource.title = "草稿"
    resource.save_revision()

    assert _sync(api, token)[0] == []


def test_an_unpublished_resource_comes_as_unpublished(api, small_network):
    _, token = _sync(api, None)
    Resource.objects.get(pk=small_network[2].pk).unpublish()

    changes, _ = _sync(api, token)

    assert [(c["kind"], c["id"], c["action"]) for c in changes] == [
        ("resource", small_network[2].pk, "unpublished")
    ]


def test_a_deleted_resource_comes_as_deleted(api, small_network):
    _, token = _sync(api, None)
    DeleteAction(Resource.objects.get(pk=small_network[2].pk)).execute()

    changes, _ = _sync(api, token)

    assert [(c["kind"], c["id"], c["action"]) for c in changes] == [
        ("resource", small_network[2].pk, "deleted")
    ]


def test_a_deleted_chapter_comes_as_deleted(api, small_network, course_a):
    _, token = _sync(api, None)
    chapter = ChapterPage.objects.live().get(title="第一章")
    chapter_id = chapter.pk
    chapter.delete()

    changes, _ = _sync(api, token)

    assert [(c["kind"], c["id"], c["action"]) for c in changes] == [
        ("chapter", chapter_id, "deleted")
    ]


def test_replaying_every_sync_tracks_the_published_set(api, small_network, make_resource):
    changes, token = _sync(api, None, limit=2)
    held = _replay(changes)
    Resource.objects.get(pk=small_network[0].pk).unpublish()
    make_resource(title="新资源")
    services.chapter_create(course=CoursePage.objects.get(), title="第三章")

    changes, token = _sync(api, token, limit=2)

    assert _replay(changes, held) == _published()


def test_a_forged_token_is_a_400_problem(api, db):
    response = api.get("/api/v1/sync?since=forged")

    assert (response.status_code, response.json()["title"]) == (400, "Invalid sync token")


@pytest.fixture(scope="class")
def demo_network(django_db_setup, django_db_blocker):
    # As tests/cms/test_loaders.py: one load (~40 s) per class, rolled back after.
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=StringIO())
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("demo_network")
class TestFullDemoNetwork:
    def test_replay_from_nothing_gives_exactly_the_published_set(self, api):
        changes, _ = _sync(api, None, limit=100)

        held = _replay(changes)
        assert held == _published()
        assert len(held["resource"]) == 14997
