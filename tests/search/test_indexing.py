"""Rebuild, sync and reconcile against the real Elasticsearch (RELIABILITY.md B2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from django.db import transaction
from django.test.utils import override_settings

from cms import services
from cms.models import Resource
from search import indexing
from search.backends.elasticsearch import client
from search.models import IndexChange
from search.tasks import _enqueue_drain, _superseded, index_pending_task
from settings.celery import app as celery_app
from tests.media_pipeline.worker import ThrowawayRedis, celery_broker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=False)]


def _indexed_ids() -> set[str]:
    client().indices.refresh(index=indexing.alias_name())
    response = client().search(index=indexing.alias_name(), size=1000, source=False)
    return {hit["_id"] for hit in response["hits"]["hits"]}


def _source(doc_id: str) -> dict:
    return client().get(index=indexing.alias_name(), id=doc_id)["_source"]


def test_rebuild_indexes_exactly_the_published_public_content(small_network):
    report = indexing.rebuild()

    net = small_network
    expected = {
        *(f"course-{course.pk}" for course in (net.accounting, net.english, net.java)),
        *(f"chapter-{chapter.pk}" for chapter in net.chapters.values()),
        *(f"resource-{r.pk}" for key, r in net.resources.items() if key != "draft"),
    }
    assert _indexed_ids() == expected
    assert report.documents == len(expected) == 10


def test_a_resource_document_carries_its_course_major_and_college(small_network):
    indexing.rebuild()
    net = small_network

    source = _source(f"resource-{net.resources['elements'].pk}")

    assert (source["codes"], source["majors"], source["exam_universities"], source["college"]) == (
        ["00041"],
        ["120203K"],
        ["aufe"],
        "college-a",
    )
    assert source["chapter_ids"] == [net.chapters["elements"].pk]
    assert {"会计", "要素", "等式"} <= set(source["title_words"].split())
    assert (source["live"], source["public"], source["difficulty"]) == (True, True, 2)


def test_rebuild_swaps_the_alias_restores_live_settings_and_drops_the_old_index(small_network):
    first = indexing.rebuild()
    second = indexing.rebuild()

    assert indexing.alias_targets() == [second.index]
    assert second.dropped == [first.index]
    assert not client().indices.exists(index=first.index)
    index_settings = client().indices.get_settings(index=second.index)[second.index]["settings"]
    assert (
        index_settings["index"]["refresh_interval"],
        index_settings["index"]["number_of_replicas"],
    ) == ("1s", "0")


def test_a_rebuild_killed_half_way_leaves_the_alias_on_the_old_index_and_the_next_run_cleans_up(
    small_network,
):
    """S9."""
    first = indexing.rebuild()
    half_built: list[str] = []

    def die(name: str) -> None:
        half_built.append(name)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        indexing.rebuild(on_loaded=die)

    assert indexing.alias_targets() == [first.index]
    assert len(_indexed_ids()) == 10
    third = indexing.rebuild()
    assert not client().indices.exists(index=half_built[0])
    assert indexing.alias_targets() == [third.index]


def test_edits_made_during_a_rebuild_are_in_the_final_index(
    small_network, django_capture_on_commit_callbacks
):
    """S8: ten edits while the bulk load runs are replayed after the swap."""
    net = small_network
    indexing.rebuild()
    resources = [
        Resource.objects.get(
            pk=services.resource_create(
                institution=net.college_a, title=f"临时资料{number}", resource_type="document"
            ).pk
        )
        for number in range(9)
    ]

    def edit(name: str) -> None:
        with django_capture_on_commit_callbacks(execute=False):
            for number, resource in enumerate(resources):
                resource.title = f"会计补充讲义{number}"
                resource.save()
            net.resources["java_basics"].unpublish()

    indexing.rebuild(on_loaded=edit)

    ids = _indexed_ids()
    for number, resource in enumerate(resources):
        assert _source(f"resource-{resource.pk}")["title"] == f"会计补充讲义{number}"
    assert f"resource-{net.resources['java_basics'].pk}" not in ids


def test_publishing_enqueues_on_commit_and_the_drain_indexes_it(
    small_network, django_capture_on_commit_callbacks
):
    net = small_network
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        resource = services.resource_create(
            institution=net.college_b, title="Java异常处理：课程讲义", resource_type="document"
        )

    assert _enqueue_drain in callbacks
    assert IndexChange.objects.filter(object_id=resource.pk, processed_at__isnull=True).count() == 0
    assert _source(f"resource-{resource.pk}")["title"] == "Java异常处理：课程讲义"


def test_unpublish_and_delete_remove_documents(small_network, django_capture_on_commit_callbacks):
    net = small_network
    indexing.rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        net.resources["vocabulary"].unpublish()
    with django_capture_on_commit_callbacks(execute=True):
        net.chapters["java_basics"].unpublish()

    ids = _indexed_ids()
    assert f"resource-{net.resources['vocabulary'].pk}" not in ids
    assert f"chapter-{net.chapters['java_basics'].pk}" not in ids
    # The chapter's resource lost its only course with it.
    assert _source(f"resource-{net.resources['java_basics'].pk}")["codes"] == []


def test_a_rolled_back_save_leaves_no_outbox_row_and_no_document(small_network):
    """S3."""
    net = small_network
    before = IndexChange.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.resource_create(
            institution=net.college_a, title="回滚的资料", resource_type="document"
        )
        raise RuntimeError("rolled back")

    assert IndexChange.objects.count() == before
    assert not any("回滚" in _source(doc_id)["title"] for doc_id in _indexed_ids())


def test_out_of_order_writes_cannot_regress_a_document(small_network):
    """S5: version 2 is written, then a late version 1 arrives."""
    net = small_network
    resource = net.resources["elements"]
    doc_id = f"resource-{resource.pk}"
    old = indexing.next_version()
    new = indexing.next_version()

    indexing.bulk_write(
        indexing._upsert_actions(
            [{"_id": doc_id, "title": "v2", "kind": "resource", "object_id": resource.pk}],
            index=indexing.alias_name(),
            version=new,
        )
    )
    late = indexing.bulk_write(
        indexing._upsert_actions(
            [{"_id": doc_id, "title": "v1", "kind": "resource", "object_id": resource.pk}],
            index=indexing.alias_name(),
            version=old,
        )
    )

    assert (late.indexed, late.superseded, late.errors) == (0, 1, [])
    assert _source(doc_id)["title"] == "v2"


def test_with_elasticsearch_down_saves_succeed_and_the_backlog_drains_later(
    small_network, django_capture_on_commit_callbacks
):
    """S1: 20 saves against a closed port, then the outbox drains."""
    net = small_network
    with (
        override_settings(ELASTICSEARCH_URL="http://127.0.0.1:9"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        created = [
            services.resource_create(
                institution=net.college_a, title=f"离线保存{number}", resource_type="article"
            )
            for number in range(20)
        ]
    pending = set(
        IndexChange.objects.filter(processed_at__isnull=True).values_list("object_id", flat=True)
    )
    assert {resource.pk for resource in created} <= pending

    assert indexing.drain_all() >= 20

    ids = _indexed_ids()
    assert {f"resource-{resource.pk}" for resource in created} <= ids
    assert not IndexChange.objects.filter(processed_at__isnull=True).exists()


def test_with_redis_down_saves_succeed_and_the_periodic_drain_indexes_them_later(
    small_network, tmp_path: Path, django_capture_on_commit_callbacks, caplog
):
    """The broker is down when editors save (own redis-server, killed): each save
    commits at once, its outbox rows wait, and once Redis is back the drain
    that beat sends every minute (``search-outbox-drain``) indexes them."""
    net = small_network
    server = ThrowawayRedis(tmp_path / "redis")
    celery_app.conf.task_always_eager = False  # this test needs the real publish
    try:
        with celery_broker(server.url):
            server.kill()
            started = time.monotonic()
            with django_capture_on_commit_callbacks(execute=True):
                created = [
                    services.resource_create(
                        institution=net.college_a,
                        title=f"断网{number}",
                        resource_type="article",
                    )
                    for number in range(3)
                ]
            assert time.monotonic() - started < 5  # no publish retries on the request path
            assert "could not enqueue the index drain" in caplog.text
            pending = IndexChange.objects.filter(processed_at__isnull=True)
            assert {r.pk for r in created} <= set(pending.values_list("object_id", flat=True))
            assert not {f"resource-{r.pk}" for r in created} & _indexed_ids()

            server.start()  # Redis is back; beat sends its periodic drain
            celery_app.send_task(celery_app.conf.beat_schedule["search-outbox-drain"]["task"])
            queued = redis.Redis(port=server.port).lrange("index", 0, -1)
            assert len(queued) == 1  # routed to the index workers' queue
    finally:
        celery_app.conf.task_always_eager = True
        server.kill()

    index_pending_task.apply()  # what the index worker runs for that message
    assert {f"resource-{r.pk}" for r in created} <= _indexed_ids()
    assert not IndexChange.objects.filter(processed_at__isnull=True).exists()


def test_reconcile_reports_a_drift_of_ten_repairs_it_and_is_idempotent(small_network):
    """S6: 5 documents deleted, 3 foreign ones added, 2 altered."""
    net = small_network
    indexing.rebuild()
    alias = indexing.alias_name()
    ids = sorted(_indexed_ids())
    for doc_id in ids[:5]:
        client().delete(index=alias, id=doc_id)
    client().index(
        index=alias, id=f"resource-{net.resources['draft'].pk}", document={"kind": "resource"}
    )
    client().index(index=alias, id=f"course-{net.draft_course.pk}", document={"kind": "course"})
    client().index(index=alias, id="stray-1", document={"kind": "stray"})
    for doc_id in ids[5:7]:
        client().update(index=alias, id=doc_id, doc={"updated_at": "2001-01-01T00:00:00+00:00"})

    drift = indexing.drift_find()
    assert (len(drift.missing), len(drift.foreign), len(drift.stale)) == (5, 3, 2)

    indexing.drift_repair(drift)
    assert indexing.drift_find().total == 0
    assert sorted(_indexed_ids()) == ids


def test_searches_during_a_rebuild_never_fail_empty_or_duplicate(indexed_network):
    """S7: a searcher runs throughout a rebuild; the swap is one _aliases call."""
    import threading

    from search import queries

    params = queries.SearchParams(query="会计要素", limit=10)
    seen: list[tuple[int, int]] = []
    errors: list[Exception] = []
    running = threading.Event()
    running.set()

    def searcher() -> None:
        while running.is_set():
            try:
                page = queries.search(params)
            except Exception as error:  # recorded, then asserted below
                errors.append(error)
                continue
            ids = [(hit.kind, hit.object_id) for hit in page.hits]
            seen.append((page.total, len(set(ids)) - len(ids)))

    thread = threading.Thread(target=searcher)
    thread.start()
    try:
        for _ in range(2):
            indexing.rebuild()
    finally:
        running.clear()
        thread.join()

    assert errors == []
    assert len(seen) > 10
    assert set(seen) == {(3, 0)}  # always all three hits, never a duplicate


def test_view_restrictions_and_moves_under_a_private_page_remove_documents(
    small_network, django_capture_on_commit_callbacks
):
    """S4: a restricted course, a restricted college subtree, a course moved
    under a private page — their documents go; lifting a restriction brings
    them back."""
    from wagtail.models import Page, PageViewRestriction

    net = small_network
    indexing.rebuild()
    english, java = f"course-{net.english.pk}", f"course-{net.java.pk}"
    vocabulary = f"chapter-{net.chapters['vocabulary'].pk}"

    def restrict(page: Page) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            PageViewRestriction.objects.create(
                page=page, restriction_type=PageViewRestriction.PASSWORD, password="pw"
            )

    restrict(net.english)
    assert {english, vocabulary}.isdisjoint(_indexed_ids())
    assert _source(f"resource-{net.resources['vocabulary'].pk}")["codes"] == []

    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.filter(page=net.english).delete()
    assert {english, vocabulary} <= _indexed_ids()

    restrict(Page.objects.get(pk=net.college_b.root_page_id))
    assert java not in _indexed_ids()

    with django_capture_on_commit_callbacks(execute=True):
        PageViewRestriction.objects.filter(page_id=net.college_b.root_page_id).delete()
    assert java in _indexed_ids()
    restrict(Page.objects.get(pk=net.college_a.root_page_id))
    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=net.java.pk).move(
            Page.objects.get(pk=net.college_a.root_page_id), pos="last-child"
        )
    assert java not in _indexed_ids()


def test_a_slow_elasticsearch_is_never_on_a_saves_path(
    small_network, django_capture_on_commit_callbacks, settings
):
    """S2: a server that accepts and never answers; saving and publishing makes
    no connection to it. After commit the only search work is an enqueue."""
    import socket

    from search.tasks import index_pending_task

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.resource_create(
                institution=small_network.college_a, title="慢服务器", resource_type="document"
            )
        try:
            listener.accept()
            connected = True
        except BlockingIOError:
            connected = False
    finally:
        listener.close()

    assert connected is False
    search_callbacks = [c for c in callbacks if c.__module__.startswith("search.")]
    assert _enqueue_drain in search_callbacks
    assert set(search_callbacks) <= {_enqueue_drain, _superseded}
    # The worker side: transport errors retry with jittered backoff, bounded
    # below the broker's visibility timeout.
    assert index_pending_task.retry_backoff is True
    assert index_pending_task.retry_jitter is True
    assert (
        index_pending_task.retry_backoff_max
        <= settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    )


def test_the_commands_rebuild_and_reconcile_with_a_report(small_network):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("search_index", "rebuild", stdout=out)
    assert out.getvalue().startswith("elasticsearch: 10 documents into test_search_content_v")

    client().delete(index=indexing.alias_name(), id=f"course-{small_network.java.pk}")
    out = StringIO()
    call_command("search_index", "reconcile", stdout=out)
    assert out.getvalue().splitlines() == [
        "drift: 1 missing, 0 not public, 0 stale",
        f"  missing course-{small_network.java.pk}",
        "repaired: 3 indexed, 0 deleted",
    ]


def test_the_index_task_run_twice_changes_nothing_the_second_time(
    small_network, django_capture_on_commit_callbacks
):
    """Delivered twice (C9): the second run finds nothing pending."""
    from search.tasks import index_pending_task

    first = index_pending_task.apply().get()
    doc_id = f"resource-{small_network.resources['elements'].pk}"
    version = client().get(index=indexing.alias_name(), id=doc_id)["_version"]

    second = index_pending_task.apply().get()

    assert first > 0
    assert second == 0
    assert client().get(index=indexing.alias_name(), id=doc_id)["_version"] == version


def test_deleting_a_course_removes_it_its_chapters_and_its_link_from_resources(
    small_network, django_capture_on_commit_callbacks
):
    from wagtail.models import Page

    net = small_network
    indexing.rebuild()
    java_basics = f"resource-{net.resources['java_basics'].pk}"
    assert _source(java_basics)["codes"] == ["04747"]

    with django_capture_on_commit_callbacks(execute=True):
        Page.objects.get(pk=net.java.pk).delete()

    ids = _indexed_ids()
    assert {f"course-{net.java.pk}", f"chapter-{net.chapters['java_basics'].pk}"}.isdisjoint(ids)
    assert _source(java_basics)["codes"] == []
