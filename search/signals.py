"""Catch every way content enters or leaves the public set and record it in
the search outbox. Handlers only write outbox rows (in the caller's
transaction) and schedule a drain after commit: no Elasticsearch call ever
runs on a save's path (RELIABILITY.md S2).

Connected in ``SearchConfig.ready``. Wagtail's admin actions (publish,
unpublish, delete, move, view restrictions) do not go through our services,
so signals are the one place that sees all of them (STYLE.md "Signals only to
catch Wagtail admin actions that bypass services, and only to enqueue").
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move, published, unpublished

from cms.models import ChapterPage, CoursePage, Resource

from .indexing import changes_mark

DISPATCH_PREFIX = "search-outbox-"


def _page_kind(page: Page) -> str | None:
    specific_class = page.specific_class
    if specific_class is None:
        return None
    if issubclass(specific_class, CoursePage):
        return "course"
    if issubclass(specific_class, ChapterPage):
        return "chapter"
    return None


def _mark_subtree(page: Page) -> None:
    """A page and the courses and chapters below it (a move or a view
    restriction on a college's page changes all of them)."""
    pages = Page.objects.filter(path__startswith=page.path).select_related("content_type")
    by_kind: dict[str, list[int]] = {"course": [], "chapter": []}
    for descendant in pages.only("pk", "path", "content_type"):
        kind = _page_kind(descendant)
        if kind is not None:
            by_kind[kind].append(descendant.pk)
    for kind, ids in by_kind.items():
        changes_mark(kind, ids)


def page_changed(sender: Any, instance: Page, **kwargs: Any) -> None:
    kind = _page_kind(instance)
    if kind is not None:
        changes_mark(kind, [instance.pk])


def page_moved(sender: Any, instance: Page, **kwargs: Any) -> None:
    _mark_subtree(instance)


def restriction_changed(sender: Any, instance: PageViewRestriction, **kwargs: Any) -> None:
    _mark_subtree(instance.page)


def resource_changed(sender: Any, instance: Resource, **kwargs: Any) -> None:
    # raw: fixtures and the bulk loaders' save_base(raw=True); a rebuild
    # follows them, and their rows are not edits.
    if kwargs.get("raw"):
        return
    changes_mark("resource", [instance.pk])


def connect() -> None:
    for model in (CoursePage, ChapterPage):
        page_published.connect(
            page_changed, sender=model, dispatch_uid=f"{DISPATCH_PREFIX}pub-{model.__name__}"
        )
        page_unpublished.connect(
            page_changed, sender=model, dispatch_uid=f"{DISPATCH_PREFIX}unpub-{model.__name__}"
        )
        post_delete.connect(
            page_changed, sender=model, dispatch_uid=f"{DISPATCH_PREFIX}del-{model.__name__}"
        )
    # Moves are sent for the base Page class with the specific instance.
    post_page_move.connect(page_moved, dispatch_uid=f"{DISPATCH_PREFIX}move")
    post_save.connect(
        restriction_changed, sender=PageViewRestriction, dispatch_uid=f"{DISPATCH_PREFIX}vr-save"
    )
    post_delete.connect(
        restriction_changed, sender=PageViewRestriction, dispatch_uid=f"{DISPATCH_PREFIX}vr-del"
    )
    published.connect(resource_changed, sender=Resource, dispatch_uid=f"{DISPATCH_PREFIX}res-pub")
    unpublished.connect(
        resource_changed, sender=Resource, dispatch_uid=f"{DISPATCH_PREFIX}res-unpub"
    )
    post_save.connect(resource_changed, sender=Resource, dispatch_uid=f"{DISPATCH_PREFIX}res-save")
    post_delete.connect(resource_changed, sender=Resource, dispatch_uid=f"{DISPATCH_PREFIX}res-del")
