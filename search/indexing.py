"""Writing the Elasticsearch index: incremental sync from the outbox, the
zero-downtime rebuild, and reconciliation.

Rules that every write here follows (RELIABILITY.md B2):

* Writes go through the alias, except a rebuild's bulk load into its new index.
* Every write carries an external version from ``next_version``; Elasticsearch
  rejects a write whose version is not higher than the stored one (409), so a
  late task can never put back an older document (S5).
* A document's content is read from the database *after* its version is
  taken, so a higher version always comes with content at least as new.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from elasticsearch import NotFoundError
from elasticsearch.dsl import Index
from elasticsearch.helpers import streaming_bulk

from cms import selectors
from cms.models import ChapterPage, ChapterResource, CoursePage

from . import documents
from .backends.elasticsearch import BULK_TIMEOUT_SECONDS, client
from .models import IndexChange

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]

# Documents per bulk request: 1,000 pre-analysed documents are ~2 MB, well
# under the 100 MB request limit, and large enough that the server is never
# the bottleneck (analysis in Python is).
BULK_CHUNK = 1000
# Outbox rows taken per drain: one transaction, a few bulk requests.
DRAIN_BATCH = 500
# A rebuild replays changes recorded from this long before it started: a
# transaction that wrote its outbox row before the rebuild began but committed
# after the rebuild read the table would otherwise be missed. Longer than the
# index tasks' hard time limit (120 s) is not needed for editor saves, which
# commit in well under a second.
REPLAY_MARGIN = timedelta(seconds=60)
# Processed outbox rows are kept this long for rebuild replays, then deleted.
OUTBOX_RETENTION = timedelta(days=2)
LIVE_SETTINGS = {"refresh_interval": "1s"}
VERSION_STEP = 1000
VERSION_OFFSET = 2 * 10**13  # × VERSION_STEP = 2e16 µs: far beyond today's clock (1.8e15)


def alias_name() -> str:
    return f"{settings.SEARCH_INDEX_PREFIX}content"


def new_index_name() -> str:
    # Microseconds: two rebuilds in one second (tests) get distinct names.
    return f"{alias_name()}_v{timezone.now():%Y%m%d%H%M%S%f}"


def index_definition(name: str, *, loading: bool = False) -> Index:
    index = Index(name)
    index.settings(
        number_of_shards=1,
        # A rebuild loads with no replicas and no refresh (GitLab's recipe), then
        # restores both before the alias moves to it.
        number_of_replicas=0 if loading else settings.SEARCH_INDEX_REPLICAS,
        refresh_interval="-1" if loading else LIVE_SETTINGS["refresh_interval"],
        max_result_window=MAX_RESULT_WINDOW,
    )
    for document_class in documents.DOCUMENT_CLASSES:
        index.document(document_class)
    return index


# Deep pages beyond this are refused with 400 (RELIABILITY.md S10): the
# server's default, stated here so the API and the index agree.
MAX_RESULT_WINDOW = 10_000


def index_create(name: str, *, loading: bool = False) -> None:
    index_definition(name, loading=loading).create(
        using=client().options(request_timeout=BULK_TIMEOUT_SECONDS)
    )


def alias_targets() -> list[str]:
    """Indexes the alias points at (one, except in the instant of a broken swap)."""
    try:
        return sorted(client().indices.get_alias(name=alias_name()).keys())
    except NotFoundError:
        return []


def index_ensure() -> str:
    """The alias exists and points at an index (a fresh, empty one if needed),
    so incremental writes work before the first rebuild."""
    targets = alias_targets()
    if targets:
        return targets[0]
    name = new_index_name()
    index_create(name)
    client().indices.put_alias(index=name, name=alias_name())
    return name


def next_version() -> int:
    """A version higher than every version handed out before this call.

    A PostgreSQL sequence is monotonic across all workers and machines, which
    no worker's clock is. Other databases (the embedded quick start) fall back
    to the clock in microseconds; there is one process there.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('search_document_version')")
            row = cursor.fetchone()
            assert row is not None
            # Spaced by VERSION_STEP: an update or delete made outside our code
            # (an operator's curl, the update API) bumps a document's version
            # by one, and must not reach the next version we hand out. The
            # offset puts every version above the clock-based ones of a
            # quick-start install.
            return (int(row[0]) + VERSION_OFFSET) * VERSION_STEP
    return time.time_ns() // 1000


@dataclass
class WriteReport:
    indexed: int = 0
    deleted: int = 0
    # Writes refused because the index already holds a newer version (S5):
    # expected when tasks overlap, not an error.
    superseded: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: WriteReport) -> None:
        self.indexed += other.indexed
        self.deleted += other.deleted
        self.superseded += other.superseded
        self.errors.extend(other.errors)


class IndexWriteError(RuntimeError):
    """Some documents could not be written; the outbox keeps them pending."""


def _upsert_actions(
    sources: Iterable[dict[str, Any]], *, index: str, version: int
) -> Iterator[dict[str, Any]]:
    for source in sources:
        yield {
            "_op_type": "index",
            "_index": index,
            "_id": source["_id"],
            "version": version,
            "version_type": "external",
            "_source": documents.strip_meta(source),
        }


def _delete_actions(
    doc_ids: Iterable[str], *, index: str, version: int
) -> Iterator[dict[str, Any]]:
    for doc_id in doc_ids:
        yield {
            "_op_type": "delete",
            "_index": index,
            "_id": doc_id,
            "version": version,
            "version_type": "external",
        }


def bulk_write(
    actions: Iterable[dict[str, Any]], *, progress: Progress | None = None
) -> WriteReport:
    """Send actions in chunks; collect failures instead of stopping at the first."""
    report = WriteReport()
    for ok, item in streaming_bulk(
        client().options(request_timeout=BULK_TIMEOUT_SECONDS),
        actions,
        chunk_size=BULK_CHUNK,
        raise_on_error=False,
        raise_on_exception=True,
        max_retries=2,
    ):
        operation, result = next(iter(item.items()))
        status = result.get("status", 0)
        if ok:
            if operation == "delete":
                report.deleted += 1
            else:
                report.indexed += 1
        elif status == 409:
            report.superseded += 1
        elif operation == "delete" and status == 404:
            report.deleted += 1  # already gone: the goal is reached
        else:
            report.errors.append({"id": result.get("_id"), "error": result.get("error")})
        if progress is not None:
            progress(1)
    return report


# -- incremental sync ----------------------------------------------------------


def _dependents(changes: dict[str, set[int]]) -> dict[str, set[int]]:
    """A course's chapters and resources carry its name, code and majors, and a
    resource carries its chapters' courses: when those change, so do they."""
    expanded = {kind: set(ids) for kind, ids in changes.items()}
    for kind in documents.KINDS:
        expanded.setdefault(kind, set())
    course_ids = expanded["course"]
    if course_ids:
        for course in CoursePage.objects.filter(pk__in=course_ids).only("path", "depth"):
            expanded["chapter"].update(
                ChapterPage.objects.filter(
                    path__startswith=course.path, depth=course.depth + 1
                ).values_list("pk", flat=True)
            )
    if expanded["chapter"]:
        expanded["resource"].update(
            ChapterResource.objects.filter(chapter_id__in=expanded["chapter"]).values_list(
                "resource_id", flat=True
            )
        )
    return expanded


def _indexed_dependents(kind: str, ids: set[int], index: str) -> set[int]:
    """Resources the index links to deleted courses or chapters: the database
    no longer knows them (the link rows went with the page)."""
    if not ids:
        return set()
    field_name = "course_ids" if kind == "course" else "chapter_ids"
    response = client().search(
        index=index,
        query={
            "bool": {
                "filter": [{"term": {"kind": "resource"}}, {"terms": {field_name: sorted(ids)}}]
            }
        },
        source=False,
        size=MAX_RESULT_WINDOW,
        docvalue_fields=[{"field": "object_id"}],
    )
    return {int(hit["fields"]["object_id"][0]) for hit in response["hits"]["hits"]}


def sync_objects(changes: dict[str, set[int]], *, index: str | None = None) -> WriteReport:
    """Bring the documents of these objects (and their dependents) in line with
    the database: public ones are written, the others deleted."""
    target = index or alias_name()
    version = next_version()  # before reading: see the module docstring
    expanded = _dependents(changes)
    report = WriteReport()
    for _ in range(2):  # a deletion can reveal resources to refresh (below)
        upserts: list[dict[str, Any]] = []
        deletes: list[str] = []
        revealed: dict[str, set[int]] = {}
        for kind in documents.KINDS:
            ids = expanded.get(kind, set())
            if not ids:
                continue
            sources = list(documents.SOURCES[kind](sorted(ids)))
            found = {source["object_id"] for source in sources}
            gone = ids - found
            upserts.extend(sources)
            deletes.extend(documents.document_id(kind, object_id) for object_id in sorted(gone))
            if kind != "resource" and gone:
                revealed.setdefault("resource", set()).update(
                    _indexed_dependents(kind, gone, target) - expanded["resource"]
                )
        actions = [
            *_upsert_actions(upserts, index=target, version=version),
            *_delete_actions(deletes, index=target, version=version),
        ]
        report.add(bulk_write(actions))
        if not revealed.get("resource"):
            break
        expanded = {"resource": revealed["resource"]}
    if report.errors:
        raise IndexWriteError(f"{len(report.errors)} documents failed: {report.errors[:3]}")
    return report


def changes_mark(kind: str, object_ids: Iterable[int]) -> None:
    """Record in the outbox that these objects' documents may be stale, in the
    caller's transaction, and drain after commit."""
    rows = [IndexChange(kind=kind, object_id=object_id) for object_id in set(object_ids)]
    if not rows:
        return
    IndexChange.objects.bulk_create(rows)
    from .tasks import drain_after_commit

    drain_after_commit()


def pending_changes(rows: Iterable[IndexChange]) -> dict[str, set[int]]:
    changes: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        changes[row.kind].add(row.object_id)
    return dict(changes)


def drain(*, limit: int = DRAIN_BATCH) -> int:
    """Index what the outbox holds, oldest first; returns the rows processed.

    Rows are locked with SKIP LOCKED, so two workers draining at once take
    different rows. If Elasticsearch fails, the transaction rolls back and the
    rows stay pending for the next attempt (S1).
    """
    with transaction.atomic():
        pending = IndexChange.objects.filter(processed_at__isnull=True).order_by("id")
        if connection.vendor == "postgresql":
            pending = pending.select_for_update(skip_locked=True)
        rows = list(pending[:limit])
        if not rows:
            return 0
        sync_objects(pending_changes(rows))
        IndexChange.objects.filter(pk__in=[row.pk for row in rows]).update(
            processed_at=timezone.now()
        )
    return len(rows)


def drain_all() -> int:
    total = 0
    while processed := drain():
        total += processed
    outbox_prune()
    return total


def outbox_prune() -> int:
    cutoff = timezone.now() - OUTBOX_RETENTION
    deleted, _ = IndexChange.objects.filter(processed_at__lt=cutoff).delete()
    return deleted


# -- rebuild -------------------------------------------------------------------


@dataclass
class RebuildReport:
    index: str
    documents: int
    seconds: float
    replayed: int
    dropped: list[str]

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def _versioned_indexes() -> list[str]:
    return sorted(client().indices.get(index=f"{alias_name()}_v*").keys())


def _replay(since: Any, index: str) -> int:
    rows = list(IndexChange.objects.filter(created_at__gte=since).only("kind", "object_id"))
    if rows:
        sync_objects(pending_changes(rows), index=index)
    return len(rows)


def rebuild(
    *,
    progress_factory: Callable[[str, int], Any] | None = None,
    on_loaded: Callable[[str], None] | None = None,
    sources: Iterable[dict[str, Any]] | None = None,
) -> RebuildReport:
    """Build a new index beside the live one and move the alias in one call.

    Searches keep hitting the old index until the swap; edits made meanwhile
    go to the old index through the alias and are replayed into the new one
    (twice: before the swap for what came during the load, after it for what
    came during the first replay). A rebuild that dies half-way leaves the
    alias where it was; the next run deletes its orphan index (S9).
    """
    started_at = timezone.now()
    clock = time.perf_counter()
    live = set(alias_targets())
    # Orphans of an interrupted rebuild: versioned indexes no alias points at.
    for orphan in set(_versioned_indexes()) - live:
        client().indices.delete(index=orphan)
    name = new_index_name()
    index_create(name, loading=True)
    version = next_version()
    counts = documents.public_counts()
    total = sum(counts.values())
    items = sources if sources is not None else documents.all_sources()
    report = WriteReport()
    if progress_factory is not None:
        with progress_factory("indexing", total) as advance:
            report = bulk_write(
                _upsert_actions(items, index=name, version=version), progress=advance
            )
    else:
        report = bulk_write(_upsert_actions(items, index=name, version=version))
    if report.errors:
        client().indices.delete(index=name)
        raise IndexWriteError(f"rebuild failed: {report.errors[:3]}")
    if on_loaded is not None:
        on_loaded(name)  # tests interrupt or edit here
    client().indices.put_settings(
        index=name,
        settings={
            "index": {
                "number_of_replicas": settings.SEARCH_INDEX_REPLICAS,
                **LIVE_SETTINGS,
            }
        },
    )
    client().indices.refresh(index=name)
    replay_from = timezone.now()
    replayed = _replay(started_at - REPLAY_MARGIN, name)
    # One _aliases call: searches see the old index or the new one, never
    # neither, never both (S7).
    alias_actions: list[dict[str, Any]] = [
        {"remove": {"index": old, "alias": alias_name()}} for old in sorted(live)
    ]
    alias_actions.append({"add": {"index": name, "alias": alias_name()}})
    client().indices.update_aliases(actions=alias_actions)
    replayed += _replay(replay_from - REPLAY_MARGIN, alias_name())
    for old in sorted(live):
        client().indices.delete(index=old)
    client().indices.refresh(index=name)
    return RebuildReport(
        index=name,
        documents=report.indexed,
        seconds=time.perf_counter() - clock,
        replayed=replayed,
        dropped=sorted(live),
    )


# -- reconcile -----------------------------------------------------------------


@dataclass
class Drift:
    missing: list[str] = field(default_factory=list)  # in the database, not in the index
    foreign: list[str] = field(default_factory=list)  # in the index, not public in the database
    stale: list[str] = field(default_factory=list)  # both, but the index holds older content

    @property
    def total(self) -> int:
        return len(self.missing) + len(self.foreign) + len(self.stale)


def _database_stamps() -> dict[str, str | None]:
    """Document id → the timestamp its document should carry."""
    stamps: dict[str, str | None] = {}
    for course_id, stamp in selectors.courses_public().values_list("pk", "last_published_at"):
        stamps[documents.document_id("course", course_id)] = documents.iso(stamp)
    for chapter_id, stamp in selectors.chapters_public().values_list("pk", "last_published_at"):
        stamps[documents.document_id("chapter", chapter_id)] = documents.iso(stamp)
    for resource_id, stamp in selectors.resources_public().values_list("pk", "updated_at"):
        stamps[documents.document_id("resource", resource_id)] = documents.iso(stamp)
    return stamps


def _index_stamps(progress: Progress | None = None) -> dict[str, str | None]:
    from elasticsearch.helpers import scan

    stamps: dict[str, str | None] = {}
    for hit in scan(
        client(),
        index=alias_name(),
        query={"query": {"match_all": {}}, "_source": ["updated_at"]},
        size=2000,
    ):
        stamps[hit["_id"]] = hit["_source"].get("updated_at")
        if progress is not None:
            progress(1)
    return stamps


def drift_find(progress: Progress | None = None) -> Drift:
    index_ensure()
    client().indices.refresh(index=alias_name())
    expected = _database_stamps()
    actual = _index_stamps(progress)
    return Drift(
        missing=sorted(set(expected) - set(actual)),
        foreign=sorted(set(actual) - set(expected)),
        stale=sorted(
            doc_id
            for doc_id in set(expected) & set(actual)
            if _same_instant(expected[doc_id], actual[doc_id]) is False
        ),
    )


def _same_instant(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return left is right
    from datetime import datetime

    return datetime.fromisoformat(left) == datetime.fromisoformat(right)


def drift_repair(drift: Drift) -> WriteReport:
    """Re-sync every drifted document from the database (idempotent)."""
    changes: dict[str, set[int]] = defaultdict(set)
    for doc_id in [*drift.missing, *drift.foreign, *drift.stale]:
        kind, _, object_id = doc_id.partition("-")
        if kind in documents.KINDS and object_id.isdigit():
            changes[kind].add(int(object_id))
    report = WriteReport()
    if changes:
        report = sync_objects(dict(changes))
    # Documents whose id names no object of ours at all: delete outright.
    strays = [
        doc_id
        for doc_id in drift.foreign
        if doc_id.partition("-")[0] not in documents.KINDS or not doc_id.partition("-")[2].isdigit()
    ]
    if strays:
        report.add(bulk_write(_delete_actions(strays, index=alias_name(), version=next_version())))
    client().indices.refresh(index=alias_name())
    return report
