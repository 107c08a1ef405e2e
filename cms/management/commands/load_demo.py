"""Build the full-scale demo network on top of the real catalogue.

The content is planned by ``cms.demo`` (pure, seeded); this module writes it
through the bulk paths of ``cms.loading``, with the per-save index tasks
paused and the index work done in bulk at the end (see ``cms/loading.py``
for why). Everything runs in one transaction, so a failure leaves no rows;
clip files already uploaded stay in storage (it is not transactional) under
their content hash, and the next run reuses them.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, models, transaction
from django.db.models import Max
from wagtail.models import Page, ReferenceIndex, Revision
from wagtail.search.models import IndexEntry

from cms import demo, loading, services
from cms.models import ChapterPage, ChapterResource, CoursePage, Institution, Major, Resource
from cms.progress import progress_bar
from media_pipeline import ffmpeg, storage
from media_pipeline.models import AssetStatus, MediaAsset, source_key
from media_pipeline.services import asset_submit

# Three distinct clips (so three assets): 5 s of test pattern at 360p, each
# with its own tone (A4, C5, E5). ~0.6 s of encoding each on this machine.
CLIP_SECONDS = 5
CLIP_SIZE = (640, 360)
CLIP_TONES_HZ = (440, 523, 659)


@dataclass(frozen=True)
class Clip:
    import_key: str  # the video resource it belongs to
    path: Path
    sha256: str
    probe: ffmpeg.ProbeResult


@dataclass
class DemoReport:
    created: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - started


def demo_load_size(catalog: dict[str, Any], plan: demo.DemoPlan) -> int:
    """Progress steps: the catalogue's, then one per course, resource and chapter
    for the outlines, resources and links, and as many again for indexing."""
    return (
        services.catalog_size(catalog)
        + len(plan.outlines)
        + 2 * (plan.resource_count + len(plan.chapters))
    )


def clips_make(plan: demo.DemoPlan, workdir: Path) -> list[Clip]:
    """Encode and probe the demo clips for video resources that have none yet."""
    done = set(
        Resource.objects.filter(
            import_key__in=plan.video_clip_keys, media_asset__isnull=False
        ).values_list("import_key", flat=True)
    )
    clips = []
    for import_key, tone_hz in zip(plan.video_clip_keys, CLIP_TONES_HZ, strict=True):
        if import_key in done:
            continue
        path = workdir / f"demo-lecture-{tone_hz}hz.mp4"
        width, height = CLIP_SIZE
        argv = ffmpeg.demo_clip_argv(
            path, seconds=CLIP_SECONDS, width=width, height=height, tone_hz=tone_hz
        )
        subprocess.run(argv, stdin=subprocess.DEVNULL, check=True, timeout=120)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        clips.append(Clip(import_key, path, digest, ffmpeg.probe(path)))
    return clips


def _media_asset_ensure(clip: Clip, institution_id: int) -> MediaAsset:
    """The clip's asset; its bytes are stored once under their content hash."""
    asset = MediaAsset.objects.filter(sha256=clip.sha256).first()
    if asset is not None:
        return asset
    asset = MediaAsset(
        institution_id=institution_id,
        original_filename=clip.path.name,
        sha256=clip.sha256,
        container="mp4",
        size_bytes=clip.path.stat().st_size,
        duration_seconds=clip.probe.duration_seconds,
        width=clip.probe.width,
        height=clip.probe.height,
    )
    key = source_key(asset, clip.path.name)
    # A run that rolled back leaves its upload behind (storage is not
    # transactional); the key is the content hash, so those bytes are these.
    if default_storage.exists(key):
        asset.source.name = key
    else:
        with clip.path.open("rb") as handle:
            asset.source.save(clip.path.name, File(handle), save=False)
    asset.save()
    return asset


def _max_pk(model: type[models.Model]) -> int:
    return model._default_manager.aggregate(top=Max("pk"))["top"] or 0


def _chapters_by_course_path() -> dict[str, list[ChapterPage]]:
    chapters: dict[str, list[ChapterPage]] = defaultdict(list)
    for chapter in ChapterPage.objects.order_by("path"):
        chapters[chapter.path[: -Page.steplen]].append(chapter)
    return chapters


def demo_load(
    *,
    catalog: dict[str, Any],
    plan: demo.DemoPlan,
    clips: list[Clip],
    progress: Callable[[int], None],
) -> DemoReport:
    """Write the plan: missing outlines, resources, chapter links, videos, logins.

    Idempotent: rows made by an earlier run are found (chapters by position,
    resources by import key) and left as they are; a chapter that already
    references resources keeps its list.
    """
    report = DemoReport()
    with transaction.atomic(), loading.index_signals_paused():
        firsts = {model: _max_pk(model) for model in (Page, Institution, Major)}
        with report.phase("catalogue"):
            services.catalog_load(catalog=catalog, progress=progress)
        # What the catalogue load just made (ids only grow inside this
        # transaction); its index work was paused too.
        catalog_pages = list(Page.objects.filter(pk__gt=firsts[Page]).specific())
        catalog_others = [
            *Institution.objects.filter(pk__gt=firsts[Institution]),
            *Major.objects.filter(pk__gt=firsts[Major]),
        ]

        courses = {course.code: course for course in CoursePage.objects.all()}
        with report.phase("outlines"):
            new_chapters = _outlines_create(plan, courses, progress)
        slots = _chapter_slots(plan, courses)
        with report.phase("resources"):
            new_resources, changed_resources = _resources_create(plan, courses, clips, progress)
            queued = _videos_queue(plan)
        with report.phase("links"):
            linked = _chapters_link(plan, slots, progress)
            # New chapters get their first revision only now, so it holds
            # their resource list (a chapter of another run's plan may not).
            linked_ids = {chapter.pk for chapter in linked}
            loading.revisions_publish(
                [*linked, *(chapter for chapter in new_chapters if chapter.pk not in linked_ids)]
            )
        with report.phase("index"):
            _indexes_update(
                catalog_pages=catalog_pages,
                others=catalog_others,
                new_chapters=new_chapters,
                linked=linked,
                new_resources=[*new_resources, *changed_resources],
                progress=progress,
            )
        indexed = len(new_resources) + len(changed_resources) + len(linked)
        progress(plan.resource_count + len(plan.chapters) - indexed)
        with report.phase("users"):
            demo.demo_users_ensure()
        if (new_resources or changed_resources or linked) and connection.vendor == "postgresql":
            with report.phase("analyze"):
                _statistics_refresh()
    report.created = {
        "chapters": len(new_chapters),
        "resources": len(new_resources),
        "videos for existing resources": len(changed_resources),
        "chapter links": sum(len(chapter.chapter_resources.all()) for chapter in linked),
        "videos": len(clips),
        "videos queued for transcoding": queued,
    }
    return report


def _outlines_create(
    plan: demo.DemoPlan, courses: dict[str, CoursePage], progress: Callable[[int], None]
) -> list[ChapterPage]:
    """Generated chapters for courses that have none (real outlines came with the catalogue)."""
    existing = _chapters_by_course_path()
    created: list[ChapterPage] = []
    for code, titles in plan.outlines.items():
        course = courses[code]
        if not existing[course.path]:
            chapters = [
                ChapterPage(
                    title=title,
                    slug=f"chapter-{number}",
                    institution_id=course.institution_id,
                    live=True,
                )
                for number, title in enumerate(titles, start=1)
            ]
            loading.pages_append(course, chapters)
            created.extend(chapters)
        progress(1)
    return created


def _chapter_slots(
    plan: demo.DemoPlan, courses: dict[str, CoursePage]
) -> dict[tuple[str, int], ChapterPage]:
    """(course code, chapter number) → the chapter page in that position."""
    by_path = _chapters_by_course_path()
    return {
        (code, number): chapter
        for code in plan.outlines
        for number, chapter in enumerate(by_path[courses[code].path], start=1)
    }


def _resources_create(
    plan: demo.DemoPlan,
    courses: dict[str, CoursePage],
    clips: list[Clip],
    progress: Callable[[int], None],
) -> tuple[list[Resource], list[Resource]]:
    """Resources the plan has and the database lacks (all of them on a first
    run), then existing video resources that now get their clip: (new, changed)."""
    existing = dict(
        Resource.objects.filter(import_key__startswith="demo:").values_list("import_key", "pk")
    )
    owners = {
        spec.import_key: courses[chapter.course_code].institution_id
        for chapter in plan.chapters
        for spec in chapter.resources
    }
    assets = {clip.import_key: _media_asset_ensure(clip, owners[clip.import_key]) for clip in clips}
    created = [
        Resource(
            import_key=spec.import_key,
            title=spec.title,
            resource_type=spec.resource_type,
            summary=spec.summary,
            body=spec.body,
            knowledge_points=list(spec.knowledge_points),
            difficulty=spec.difficulty,
            duration_seconds=(
                round(assets[spec.import_key].duration_seconds or 0)
                if spec.import_key in assets
                else spec.duration_seconds
            ),
            external_url=spec.external_url,
            media_asset=assets.get(spec.import_key),
            institution_id=owners[spec.import_key],
            live=True,
        )
        for chapter in plan.chapters
        for spec in chapter.resources
        if spec.import_key not in existing
    ]
    for batch in loading.batched(created, loading.BULK_BATCH):
        Resource.objects.bulk_create(batch)
        loading.revisions_publish(batch)
        progress(len(batch))
    progress(plan.resource_count - len(created))
    # Videos for resources an earlier run made without them (ffmpeg was missing).
    late = list(Resource.objects.filter(import_key__in=assets.keys() & existing.keys()))
    for resource in late:
        asset = assets[str(resource.import_key)]
        resource.media_asset = asset
        resource.duration_seconds = round(asset.duration_seconds or 0)
        resource.save(update_fields=["media_asset", "duration_seconds", "updated_at"])
    loading.revisions_publish(late)
    return created, late


def _videos_queue(plan: demo.DemoPlan) -> int:
    """Queue the demo's clips for transcoding, published on commit: a worker
    makes them playable (the quick start runs one), so their resources can be
    published again. A re-run finds them queued or done and queues nothing."""
    pending = MediaAsset.objects.filter(
        status=AssetStatus.PENDING, resources__import_key__in=plan.video_clip_keys
    ).distinct()
    return sum(asset_submit(asset) for asset in pending)


def _chapters_link(
    plan: demo.DemoPlan,
    slots: dict[tuple[str, int], ChapterPage],
    progress: Callable[[int], None],
) -> list[ChapterPage]:
    """Reference each chapter's resources in order (plus reused ones), for
    chapters that reference nothing yet."""
    already_linked = set(ChapterResource.objects.values_list("chapter_id", flat=True).distinct())
    resource_ids = dict(
        Resource.objects.filter(import_key__startswith="demo:").values_list("import_key", "pk")
    )
    reused: dict[tuple[str, int], list[str]] = defaultdict(list)
    for import_key, course_code, number in plan.reuses:
        reused[(course_code, number)].append(import_key)
    linked, rows = [], []
    for spec in plan.chapters:
        chapter = slots.get((spec.course_code, spec.number))
        if chapter is not None and chapter.pk not in already_linked:
            keys = [resource.import_key for resource in spec.resources]
            keys += reused[(spec.course_code, spec.number)]
            rows += [
                ChapterResource(chapter=chapter, resource_id=resource_ids[key], sort_order=order)
                for order, key in enumerate(keys)
            ]
            linked.append(chapter)
        progress(1)
    ChapterResource.objects.bulk_create(rows, batch_size=loading.BULK_BATCH)
    return linked


def _indexes_update(
    *,
    catalog_pages: list[Page],
    others: list[Any],
    new_chapters: list[ChapterPage],
    linked: list[ChapterPage],
    new_resources: list[Resource],
    progress: Callable[[int], None],
) -> None:
    """The index work the paused signals would have done, in bulk."""
    # One instance per page: the linked chapters' child rows are already loaded.
    pages = {page.pk: page for page in [*catalog_pages, *new_chapters]}
    pages.update({chapter.pk: chapter for chapter in linked})
    loading.references_update([*others, *pages.values(), *new_resources])
    for model, objects in loading.group_by_type([*others, *catalog_pages, *new_chapters]).items():
        loading.admin_search_index_update(model, objects)
    progress(len(linked))
    for batch in loading.batched(new_resources, loading.BULK_BATCH):
        loading.admin_search_index_update(Resource, batch)
        progress(len(batch))


def _statistics_refresh() -> None:
    """Refresh PostgreSQL's planner statistics for the tables the load grew ~100×.

    Autovacuum analyzes only after commit, on its own schedule; until then the
    planner takes these tables for nearly empty, and the admin's resource search
    ran a nested loop for minutes (seen in the test suite, where the load never
    commits). ANALYZE inside the transaction counts the transaction's own rows.
    """
    models = (Page, ChapterPage, ChapterResource, Resource, Revision, ReferenceIndex, IndexEntry)
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


class Command(BaseCommand):
    help = (
        "Build the full-scale demo network: an 8–12 chapter outline for every course "
        "without a real one, 14,997 resources referenced by the chapters, three short "
        "videos (needs ffmpeg; skipped with a warning without it) and the demo logins. "
        "Loads the catalogue first (the same idempotent load as load_catalog), so it "
        "works on an empty database. Idempotent; one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=demo.DEMO_SEED)
        parser.add_argument("--no-videos", action="store_true", help="skip the ffmpeg clips")

    def handle(self, *args: Any, seed: int, no_videos: bool, **options: Any) -> None:
        started = time.perf_counter()
        catalog = services.catalog_read()
        plan = demo.demo_plan(catalog, seed)
        with tempfile.TemporaryDirectory(prefix="wanxue-demo-") as workdir:
            clips = [] if no_videos else self._clips(plan, Path(workdir))
            if clips:
                storage.store().prepare()
            with progress_bar("Loading demo network", demo_load_size(catalog, plan)) as advance:
                report = demo_load(catalog=catalog, plan=plan, clips=clips, progress=advance)
        elapsed = time.perf_counter() - started
        created = ", ".join(f"{n} {kind}" for kind, n in report.created.items() if n)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo network loaded in {elapsed:.1f} s: "
                + (f"created {created}" if created else "nothing to change")
            )
        )
        if options["verbosity"] >= 2:
            for phase, seconds in report.timings.items():
                self.stdout.write(f"  {phase:<10} {seconds:6.1f} s")
        self.stdout.write(f"\nDemo logins (password: {demo.DEMO_PASSWORD})")
        for user in demo.DEMO_USERS:
            self.stdout.write(f"  {user.username:<16} {user.description}")

    def _clips(self, plan: demo.DemoPlan, workdir: Path) -> list[Clip]:
        if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
            self.stderr.write(
                self.style.WARNING(
                    "ffmpeg is not installed: the demo videos are skipped "
                    "(install it with `scripts/services up ffmpeg`, then re-run load_demo)."
                )
            )
            return []
        return clips_make(plan, workdir)
