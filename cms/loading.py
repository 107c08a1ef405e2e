"""Bulk paths for loaders: publish many freshly created objects at once.

``save_revision().publish()`` costs ~40 queries and a round of signals per
object; the loaders create ~17,000 objects, so they instead create the rows
already live, then write every Revision in one ``bulk_create`` and point the
objects at it. The result is what Wagtail itself leaves after a publish: a
revision holding the object's serialised content, ``latest_revision`` and
``live_revision`` set, publication timestamps, no unpublished changes. The
reference index and the admin search index are brought up to date by
``references_update`` and ``admin_search_index_update``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models
from django.utils import timezone
from wagtail.models import Page, ReferenceIndex, Revision
from wagtail.search.backends import get_search_backend

BULK_BATCH = 1000  # rows per INSERT/UPDATE statement: large enough to amortise round trips


def revisions_publish(objects: Sequence[Any]) -> None:
    """Give each saved, live object one published revision of its current content."""
    if not objects:
        return
    now = timezone.now()
    model = type(objects[0])
    # Both Page and RevisionMixin provide these; for pages the base type is Page.
    content_type = objects[0].get_content_type()
    base_content_type = objects[0].get_base_content_type()
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
    fields = [
        "latest_revision",
        "live_revision",
        "live",
        "has_unpublished_changes",
        "first_published_at",
        "last_published_at",
    ]
    if isinstance(objects[0], Page):
        for obj in objects:
            obj.latest_revision_created_at = now
        fields.append("latest_revision_created_at")
        # Page subclasses store these columns on wagtailcore_page.
        Page.objects.bulk_update(objects, fields, batch_size=BULK_BATCH)
    else:
        model.objects.bulk_update(objects, fields, batch_size=BULK_BATCH)


def references_update(objects: Iterable[models.Model]) -> None:
    """Record what each object references (Wagtail's usage and delete warnings)."""
    for obj in objects:
        ReferenceIndex.create_or_update_for_object(obj)


def admin_search_index_update(model: type[models.Model], objects: Sequence[Any]) -> None:
    """Make bulk-created objects findable in the admin's own search."""
    if objects:
        get_search_backend().add_bulk(model, objects)
