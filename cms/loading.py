"""Bulk paths for loaders: create and publish many objects at once.

``save_revision().publish()`` costs ~40 queries and a round of signals per
object; the loaders create ~17,000 objects, so they instead create the rows
already live, then write every Revision in one ``bulk_create`` and point the
objects at it. The result is what Wagtail itself leaves after a publish: a
revision holding the object's serialised content, ``latest_revision`` and
``live_revision`` set, publication timestamps, no unpublished changes. The
reference index and the admin search index are brought up to date by
``references_update`` and ``admin_search_index_update``.

Why index work is paused, not left to the signals: Wagtail runs django-tasks
on the immediate backend here, so every ``save()`` of a page, resource,
institution or major runs the search-index and reference-index tasks inline.
On PostgreSQL (2 cores) ``load_catalog`` takes ~35 s that way and the same
load takes ~18 s inside ``load_demo``, where ``index_signals_paused`` stops
those per-save tasks and the loader then indexes what it made in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import F, Value, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.db.models.signals import post_save
from django.utils import timezone
from modelcluster.models import ClusterableModel, get_all_child_relations
from modelsearch.index import get_indexed_models
from modelsearch.signal_handlers import post_save_signal_handler
from wagtail.models import Page, PageLogEntry, ReferenceIndex, Revision
from wagtail.search.backends import get_search_backend
from wagtail.signal_handlers import disable_reference_index_auto_update

from cms.api import response_cache

BULK_BATCH = 1000  # rows per INSERT/UPDATE statement: large enough to amortise round trips
# Rows per search-index INSERT. Each row carries ~12 bind parameters, so 500
# stays far below PostgreSQL's 65,535 per statement. The cost is Python-side
# (modelsearch builds three tsvector expressions per object): 15k resources
# took 9-10 s at every batch size from 250 to 2,000.
SEARCH_INDEX_BATCH = 500
# Source objects per reference-index lookup (an ``object_id IN (...)`` list).
REFERENCE_BATCH = 2000


@contextmanager
def index_signals_paused() -> Iterator[None]:
    """Skip the per-save search- and reference-index tasks while the block runs.

    The reference index has Wagtail's own thread-local switch. The search index
    has none, so its ``post_save`` receivers are disconnected, which is
    process-wide: use this in management commands and scripts, never in a web
    or worker process. Whatever the block creates must then be passed to
    ``references_update`` and ``admin_search_index_update``.
    """
    disconnected = [
        model
        for model in get_indexed_models()
        if post_save.disconnect(post_save_signal_handler, sender=model)
    ]
    try:
        with disable_reference_index_auto_update():
            yield
    finally:
        for model in disconnected:
            post_save.connect(post_save_signal_handler, sender=model)
        # Bulk inserts send no model signals: tell the API's response cache.
        response_cache.content_changed()


def _prefetch_child_relations(objects: Sequence[Any]) -> None:
    """Load every child relation (chapter resources, comments) in one query each,
    so serialising or scanning N objects does not cost N queries. Relations the
    caller already set in memory (modelcluster's deferred lists) are left alone."""
    if not objects or not isinstance(objects[0], ClusterableModel):
        return
    for relation in get_all_child_relations(type(objects[0])):
        name = relation.get_accessor_name()
        unloaded = [
            obj
            for obj in objects
            if name not in getattr(obj, "_cluster_related_objects", {})
            and name not in getattr(obj, "_prefetched_objects_cache", {})
        ]
        if unloaded:
            prefetch_related_objects(unloaded, name)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``itertools.batched`` (Python 3.12) for 3.11: lists of at most ``size``."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def group_by_type(objects: Iterable[Any]) -> dict[type, list[Any]]:
    groups: dict[type, list[Any]] = defaultdict(list)
    for obj in objects:
        groups[type(obj)].append(obj)
    return groups


def revisions_publish(objects: Sequence[Any]) -> None:
    """Give each saved, live object one published revision of its current content.

    For clusterable objects (chapters) the content includes their child rows
    (``chapter_resources``) as they are in memory, or else in the database.
    """
    for same_type in group_by_type(objects).values():
        for batch in batched(same_type, BULK_BATCH):
            _revisions_publish_batch(batch)


def _revisions_publish_batch(objects: list[Any]) -> None:
    now = timezone.now()
    model = type(objects[0])
    # Both Page and RevisionMixin provide these; for pages the base type is Page.
    content_type = objects[0].get_content_type()
    base_content_type = objects[0].get_base_content_type()
    _prefetch_child_relations(objects)
    revisions = [
        Revision(
            content_type=content_type,
            base_content_type=base_content_type,
            object_id=str(obj.pk),
            created_at=now,
            object_str=str(obj)[:255],
            content=obj.serializable_data(),
        )
        for obj in objects
    ]
    Revision.objects.bulk_create(revisions, batch_size=BULK_BATCH)
    for obj, revision in zip(objects, revisions, strict=True):
        obj.latest_revision = revision
        obj.live_revision = revision
        obj.live = True
        obj.has_unpublished_changes = False
        obj.first_published_at = obj.first_published_at or now
        obj.last_published_at = now
    # Page subclasses store these columns on wagtailcore_page.
    table_model = Page if isinstance(objects[0], Page) else model
    rows = table_model._base_manager.filter(pk__in=[obj.pk for obj in objects])
    published: dict[str, Any] = {
        "live": True,
        "has_unpublished_changes": False,
        "first_published_at": Coalesce("first_published_at", Value(now)),
        "last_published_at": now,
    }
    if table_model is Page:
        for obj in objects:
            obj.latest_revision_created_at = now
        published["latest_revision_created_at"] = now
    pairs = [(obj.pk, revision.pk) for obj, revision in zip(objects, revisions, strict=True)]
    _revision_ids_set(table_model, pairs)
    rows.update(**published, live_revision=F("latest_revision"))  # the id just set


def _revision_ids_set(table_model: type[models.Model], pairs: list[tuple[int, int]]) -> None:
    """``latest_revision`` of each (object id, revision id) pair, in one UPDATE.

    Set-based, not ``bulk_update``: only the revision id differs per row, and
    Django builds its CASE WHEN at ~0.6 ms an object (0.58 s a batch of 1000,
    9 s of the 15k-resource load); this plain ``CASE id WHEN … THEN …`` takes
    0.1 s a batch on PostgreSQL and SQLite alike. A correlated subquery looking
    the ids up instead left the plan to the statistics of a table still
    growing: the same phase took 10–63 s from run to run.
    """
    meta = table_model._meta
    latest_field = meta.get_field("latest_revision")
    assert meta.pk is not None and isinstance(latest_field, models.Field)
    quote = connection.ops.quote_name
    names = (meta.db_table, meta.pk.column, latest_field.column)
    table, pk, latest = (quote(str(name)) for name in names)
    whens = " ".join(["WHEN %s THEN %s"] * len(pairs))
    ids = ", ".join(["%s"] * len(pairs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {latest} = CASE {pk} {whens} END WHERE {pk} IN ({ids})",
            [*(value for pair in pairs for value in pair), *(obj_id for obj_id, _ in pairs)],
        )


def pages_append(parent: Page, pages: Sequence[Page]) -> None:
    """Add unsaved pages of one type as the last children of ``parent``, in order.

    Leaves the tree as ``parent.add_child(instance=page)`` for each page would
    (treebeard's path and depth, the parent's ``numchild``, Wagtail's
    ``url_path``, ``draft_title`` and locale, a ``wagtail.create`` log entry),
    in a few statements plus one small INSERT per page instead of ~25 queries.
    Like ``bulk_create`` it sends no signals and skips the per-page
    ``full_clean`` (whose foreign-key checks are a query each); slugs are
    checked against the siblings here. Pass the pages to
    ``revisions_publish``, ``references_update`` and ``admin_search_index_update``.
    """
    if not pages:
        return
    model = type(pages[0])
    if any(type(page) is not model for page in pages):
        raise TypeError("pages_append takes pages of one type")
    # Lock the parent row as treebeard's add_child does, so two loaders cannot
    # hand out the same child paths.
    parent = Page.objects.select_for_update().get(pk=parent.pk)
    siblings = parent.get_children()
    taken_slugs = set(siblings.values_list("slug", flat=True))
    last_child = siblings.order_by("-path").first()
    step = Page._str2int(last_child.path[-Page.steplen :]) if last_child else 0
    for page in pages:
        if page.slug in taken_slugs:
            raise ValueError(f"slug {page.slug!r} is already used under {parent.url_path}")
        taken_slugs.add(page.slug)
        step += 1
        page.depth = parent.depth + 1
        page.path = Page._get_path(parent.path, page.depth, step)
        page.numchild = 0
        page.draft_title = page.draft_title or page.title
        page.locale_id = page.locale_id or parent.locale_id
        page.set_url_path(parent)
    # Multi-table inheritance: Django's bulk_create refuses subclasses, so the
    # wagtailcore_page rows go in as plain Pages carrying the subclass's
    # content type, then each subclass row is written with save_base(raw=True),
    # the path ``loaddata`` uses, which writes only the model's own table.
    page_fields = [field for field in Page._meta.concrete_fields if not field.primary_key]
    base_rows = [
        Page(**{field.attname: getattr(page, field.attname) for field in page_fields})
        for page in pages
    ]
    Page.objects.bulk_create(base_rows, batch_size=BULK_BATCH)
    for page, base_row in zip(pages, base_rows, strict=True):
        page.id = page.page_ptr_id = base_row.pk
        page.save_base(raw=True, force_insert=True)
    Page.objects.filter(pk=parent.pk).update(numchild=F("numchild") + len(pages))
    # Page.save logs every new page's creation (the admin's history tab); so do we.
    now = timezone.now()
    PageLogEntry.objects.bulk_create(
        [
            PageLogEntry(
                content_type=page.content_type,
                label=page.get_admin_display_title(),
                action="wagtail.create",
                timestamp=now,
                data={},
                page_id=page.pk,
                user_id=page.owner_id,
                content_changed=True,
            )
            for page in pages
        ],
        batch_size=BULK_BATCH,
    )


def references_update(objects: Iterable[models.Model]) -> None:
    """Record what each object references (Wagtail's usage and delete warnings).

    The same rows ``ReferenceIndex.create_or_update_for_object`` writes, found
    with its own extractor, but compared and written for many objects at once:
    new references inserted, vanished ones deleted, unchanged ones untouched.
    """
    for same_type in group_by_type(objects).values():
        if not ReferenceIndex.is_indexed(type(same_type[0])):
            continue
        for batch in batched(same_type, REFERENCE_BATCH):
            _references_update_batch(batch)


def _references_update_batch(objects: list[models.Model]) -> None:
    model = type(objects[0])
    content_types = [
        ContentType.objects.get_for_model(cls, for_concrete_model=False)
        for cls in [model, *model._meta.get_parent_list()]
    ]
    content_type, base_content_type = content_types[0], content_types[-1]
    known_content_type_ids = {ct.id for ct in content_types}
    _prefetch_child_relations(objects)
    wanted = {
        (str(obj.pk), *reference)
        for obj in objects
        for reference in ReferenceIndex._extract_references_from_object(obj)
    }
    rows = ReferenceIndex.objects.filter(
        base_content_type=base_content_type, object_id__in=[str(obj.pk) for obj in objects]
    ).values_list(
        "id",
        "content_type_id",
        "object_id",
        "to_content_type_id",
        "to_object_id",
        "model_path",
        "content_path",
    )
    # reference -> (the type it was recorded under, row id)
    existing = {tuple(row[2:]): (row[1], row[0]) for row in rows}
    ReferenceIndex.objects.bulk_create(
        [
            ReferenceIndex(
                content_type=content_type,
                base_content_type=base_content_type,
                object_id=object_id,
                to_content_type_id=to_content_type_id,
                to_object_id=to_object_id,
                model_path=model_path,
                content_path=content_path,
                content_path_hash=ReferenceIndex._get_content_path_hash(content_path),
            )
            for object_id, to_content_type_id, to_object_id, model_path, content_path in sorted(
                wanted - existing.keys()
            )
        ],
        batch_size=BULK_BATCH,
        ignore_conflicts=connection.features.supports_ignore_conflicts,
    )
    # As in create_or_update_for_object: a row recorded under a more specific
    # type than this object's is not ours to delete.
    stale = [
        row_id
        for reference, (row_content_type_id, row_id) in existing.items()
        if reference not in wanted and row_content_type_id in known_content_type_ids
    ]
    if stale:
        ReferenceIndex.objects.filter(id__in=stale).delete()


def admin_search_index_update(model: type[models.Model], objects: Sequence[Any]) -> None:
    """Make bulk-created objects findable in the admin's own search."""
    backend = get_search_backend()
    for batch in batched(objects, SEARCH_INDEX_BATCH):
        backend.add_bulk(model, batch)
