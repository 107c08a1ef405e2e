"""The loaders: the real catalogue (load_catalog) and the full-scale demo (load_demo).

A full demo load takes ~40 s on PostgreSQL, so each class loads once, in a
class-scoped transaction rolled back after its last test. Every test runs in a
savepoint inside it (pytest-django's ``db``), so a test that writes (the
re-runs) leaves nothing behind for the next one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import F
from wagtail.models import Page, ReferenceIndex, Revision
from wagtail.search.backends import get_search_backend
from wagtail.search.models import IndexEntry

from cms import demo, services
from cms.management.commands import load_demo
from cms.models import (
    ChapterPage,
    ChapterResource,
    CoursePage,
    Institution,
    Major,
    Resource,
    ResourceType,
)
from cms.tenancy import NETWORK_ADMINS_GROUP
from media_pipeline.models import AssetStatus, MediaAsset, OutboxMessage
from media_pipeline.services import TRANSCODE_TASK

CHAPTERS_TOTAL = 2196  # 687 real + 1,509 generated (seed 2026)
REAL_CHAPTERS = 687
# sha256 over every generated outline and resource (seed 2026): any change to
# the generator or its vocabulary changes the demo and must change this.
PLAN_CHECKSUM = "836683f06a85771f604dd6e26801f995b16ee8e15adfce3b9079c7d1dac802ff"


def table_counts() -> dict[str, int]:
    """Rows in every table the project's models own."""
    return {
        model._meta.db_table: model._base_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return services.catalog_read()


@pytest.fixture(scope="module")
def plan(catalog) -> demo.DemoPlan:
    return demo.demo_plan(catalog)


def _loaded_once(django_db_blocker, load) -> Iterator[None]:
    # django_db_setup (requested by the fixtures below) has pointed the
    # connection at the test database before this transaction opens.
    with django_db_blocker.unblock(), transaction.atomic():
        load()
        # Check the deferred foreign keys of the load once, here: left pending,
        # every test's savepoint rollback would queue them for re-checking.
        connection.check_constraints()
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="class")
def catalogue_loaded(django_db_setup, django_db_blocker, catalog) -> Iterator[None]:
    yield from _loaded_once(django_db_blocker, lambda: services.catalog_load(catalog=catalog))


@pytest.fixture(scope="class")
def demo_loaded(django_db_setup, django_db_blocker) -> Iterator[None]:
    yield from _loaded_once(django_db_blocker, lambda: call_command("load_demo", stdout=StringIO()))


class TestDemoPlan:
    """The pure generator: no database."""

    def test_same_seed_gives_the_same_demo(self, plan):
        lines = [title for titles in plan.outlines.values() for title in titles]
        lines += [
            f"{spec.import_key}|{spec.resource_type}|{spec.title}|{spec.difficulty}|{spec.summary}"
            for chapter in plan.chapters
            for spec in chapter.resources
        ]
        assert hashlib.sha256("\n".join(lines).encode()).hexdigest() == PLAN_CHECKSUM

    def test_plans_exactly_14997_resources(self, plan):
        assert plan.resource_count == 14_997

    def test_generated_outlines_have_8_to_12_chapters(self, catalog, plan):
        generated = [course["code"] for course in catalog["courses"] if not course["chapters"]]
        assert len(generated) == 152
        assert {len(plan.outlines[code]) for code in generated} == {8, 9, 10, 11, 12}

    def test_generated_outline_opens_with_the_course_overview(self, plan):
        assert plan.outlines["00144"][0] == "第一章 企业管理概述"

    def test_resource_titles_come_from_the_chapter_topic(self, plan):
        chapter = next(c for c in plan.chapters if (c.course_code, c.number) == ("00034", 3))
        assert chapter.title == "第三章 社会与社会运行"
        assert chapter.resources[0].title == "第三章 社会与社会运行 · 重点精讲视频"
        assert chapter.resources[0].knowledge_points[0] == "社会"

    def test_documents_and_exercise_sets_are_the_most_common(self, plan):
        mix = Counter(spec.resource_type for c in plan.chapters for spec in c.resources)
        assert mix == {
            ResourceType.DOCUMENT: 4721,
            ResourceType.EXERCISE_SET: 4431,
            ResourceType.VIDEO: 3921,
            ResourceType.ARTICLE: 990,
            ResourceType.AUDIO: 509,
            ResourceType.LINK: 425,
        }

    def test_links_have_urls_and_only_media_have_durations(self, plan):
        specs = [spec for chapter in plan.chapters for spec in chapter.resources]
        for spec in specs:
            is_link = spec.resource_type == ResourceType.LINK
            assert spec.external_url.startswith("https://example.edu.cn/") == is_link
            is_media = spec.resource_type in (ResourceType.VIDEO, ResourceType.AUDIO)
            assert (spec.duration_seconds is not None) == is_media
            assert 1 <= spec.difficulty <= 5


def test_without_ffmpeg_the_videos_are_skipped_with_a_warning(monkeypatch, plan, tmp_path):
    # A mock, because this machine has ffmpeg and cannot lose it on demand.
    monkeypatch.setattr(load_demo.shutil, "which", lambda name: None)
    stderr = StringIO()
    command = load_demo.Command(stderr=stderr, no_color=True)
    assert command._clips(plan, tmp_path) == []
    assert stderr.getvalue().startswith("ffmpeg is not installed: the demo videos are skipped")


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("catalogue_loaded")
class TestCatalogueLoad:
    def test_loads_6_exam_universities_and_21_colleges(self):
        kinds = Counter(Institution.objects.values_list("kind", flat=True))
        assert kinds == {"exam_university": 6, "partner_college": 21}

    def test_loads_15_majors_and_215_courses(self):
        assert (Major.objects.count(), CoursePage.objects.count()) == (15, 215)

    def test_loads_the_687_real_chapters_in_outline_order(self, catalog):
        assert ChapterPage.objects.count() == REAL_CHAPTERS
        for entry in catalog["courses"]:
            course = CoursePage.objects.get(code=entry["code"])
            titles = list(course.get_children().values_list("title", flat=True))
            assert titles == entry["chapters"], entry["code"]

    def test_each_major_has_its_course_plan_in_order(self, catalog):
        for entry in catalog["majors"]:
            plan = Major.objects.get(code=entry["code"]).course_plan.order_by("sort_order")
            assert [row.course.code for row in plan] == entry["courses"], entry["code"]

    def test_second_load_changes_no_table_and_adds_no_revision(self, catalog):
        before = table_counts()
        report = services.catalog_load(catalog=catalog)
        assert (report.created, table_counts()) == ({}, before)

    def test_failed_demo_load_leaves_nothing_behind(self, monkeypatch):
        before = table_counts()
        create_resources = load_demo._resources_create

        def fail_after_resources(*args, **kwargs):
            create_resources(*args, **kwargs)
            raise RuntimeError("storage went away")

        monkeypatch.setattr(load_demo, "_resources_create", fail_after_resources)
        with pytest.raises(RuntimeError, match="storage went away"):
            call_command("load_demo", "--no-videos", stdout=StringIO())
        assert table_counts() == before


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.usefixtures("demo_loaded")
class TestDemoLoad:
    def test_creates_exactly_14997_resources(self):
        assert Resource.objects.count() == 14_997

    def test_every_course_has_an_outline(self):
        assert ChapterPage.objects.count() == CHAPTERS_TOTAL
        assert CoursePage.objects.filter(numchild=0).count() == 0

    def test_real_outlines_are_kept_verbatim(self, catalog):
        for entry in catalog["courses"]:
            if entry["chapters"]:
                course = CoursePage.objects.get(code=entry["code"])
                titles = list(course.get_children().values_list("title", flat=True))
                assert titles == entry["chapters"], entry["code"]

    def test_generated_outlines_are_the_planned_ones(self, plan):
        course = CoursePage.objects.get(code="00144")
        titles = tuple(course.get_children().values_list("title", flat=True))
        assert titles == plan.outlines["00144"]

    def test_every_chapter_references_its_resources_in_order(self, plan):
        assert ChapterPage.objects.filter(chapter_resources__isnull=True).count() == 0
        chapter = CoursePage.objects.get(code="00034").get_children().specific()[2]
        keys = list(
            chapter.chapter_resources.order_by("sort_order").values_list(
                "resource__import_key", flat=True
            )
        )
        planned = next(c for c in plan.chapters if (c.course_code, c.number) == ("00034", 3))
        assert keys == [spec.import_key for spec in planned.resources]

    def test_resources_belong_to_their_course_institution(self):
        owners = dict(CoursePage.objects.values_list("code", "institution_id"))
        mismatched = [
            key
            for key, institution_id in Resource.objects.values_list("import_key", "institution")
            if owners[key.split(":")[1]] != institution_id
        ]
        assert mismatched == []

    def test_three_published_resources_are_reused_by_another_college(self):
        foreign = ChapterResource.objects.exclude(resource__institution=F("chapter__institution"))
        reuses = sorted(
            (row.resource.import_key, row.chapter.get_parent().specific.code, row.resource.live)
            for row in foreign
        )
        assert reuses == [
            ("demo:00015:1:1", "13000", True),
            ("demo:00018:1:1", "00019", True),
            ("demo:03706:1:1", "15042", True),
        ]

    def test_every_page_and_resource_is_published_at_its_latest_revision(self):
        pages = Page.objects.filter(depth__gt=1)
        assert pages.filter(live_revision__isnull=True).count() == 0
        assert pages.exclude(latest_revision=F("live_revision")).count() == 0
        assert Resource.objects.filter(live_revision__isnull=True).count() == 0
        assert Resource.objects.exclude(latest_revision=F("live_revision")).count() == 0
        assert Resource.objects.filter(live=False).count() == 0

    def test_resource_revision_holds_the_current_content(self):
        for resource in Resource.objects.order_by("pk")[::1000]:
            published = resource.live_revision.as_object()
            for name in ("title", "summary", "knowledge_points", "difficulty", "media_asset_id"):
                assert getattr(published, name) == getattr(resource, name), name

    def test_chapter_revision_holds_its_resource_list(self):
        for chapter in ChapterPage.objects.order_by("pk")[::200]:
            content = chapter.live_revision.content
            current = list(
                chapter.chapter_resources.order_by("sort_order").values_list(
                    "resource_id", flat=True
                )
            )
            assert content["title"] == chapter.title
            assert [row["resource"] for row in content["chapter_resources"]] == current

    def test_reference_index_records_every_chapter_resource(self):
        rows = ReferenceIndex.objects.filter(model_path="chapter_resources.item.resource")
        assert rows.count() == ChapterResource.objects.count() == 15_000

    def test_reused_resource_shows_both_chapters_as_usage(self):
        resource = Resource.objects.get(import_key="demo:00018:1:1")
        assert ReferenceIndex.get_references_to(resource).count() == 2

    def test_every_resource_is_in_the_admin_search(self):
        resource_type = ContentType.objects.get_for_model(Resource)
        assert IndexEntry.objects.filter(content_type=resource_type).count() == 14_997
        resource = Resource.objects.get(import_key="demo:00034:3:2")
        assert resource in get_search_backend().search(resource.title, Resource)

    def test_page_tree_is_consistent(self):
        output = StringIO()
        call_command("fixtree", "--noinput", stdout=output)
        assert output.getvalue() == (
            "Checking page tree for problems...\nNo problems found.\n\n"
            "Checking collection tree for problems...\nNo problems found.\n\n"
        )

    def test_three_videos_are_stored_probed_and_attached(self, plan):
        assert MediaAsset.objects.count() == 3
        videos = Resource.objects.filter(media_asset__isnull=False).select_related("media_asset")
        assert sorted(video.import_key for video in videos) == sorted(plan.video_clip_keys)
        for video in videos:
            asset = video.media_asset
            assert (asset.width, asset.height, round(asset.duration_seconds)) == (640, 360, 5)
            assert (asset.institution_id, video.duration_seconds) == (video.institution_id, 5)
            assert default_storage.exists(asset.source.name)
            # Queued for a worker to transcode: the quick start's demo videos become playable.
            assert asset.status == AssetStatus.QUEUED
        assert OutboxMessage.objects.filter(task_name=TRANSCODE_TASK).count() == 3

    def test_demo_logins_use_the_demo_password_and_their_groups(self):
        users = {user.username: user for user in get_user_model().objects.all()}
        assert all(user.check_password("wanxue-demo") for user in users.values())
        ahkfdx = Institution.objects.get(code="ahkfdx")
        ahsmzy = Institution.objects.get(code="ahsmzy")
        assert {name: set(user.groups.all()) for name, user in users.items()} == {
            "admin": set(),
            "netadmin": {Group.objects.get(name=NETWORK_ADMINS_GROUP)},
            "editor_ahkfdx": {ahkfdx.editors_group},
            "reviewer_ahkfdx": {ahkfdx.reviewers_group},
            "editor_ahsmzy": {ahsmzy.editors_group},
        }
        assert users["admin"].is_superuser

    def test_second_load_changes_nothing(self):
        before, revisions = table_counts(), Revision.objects.count()
        call_command("load_demo", stdout=StringIO())
        assert (table_counts(), Revision.objects.count()) == (before, revisions)
