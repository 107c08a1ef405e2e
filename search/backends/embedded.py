"""The embedded search backend of the quick start: SQLite FTS5, no server.

Same documents (``search.documents``), same tokens (``search.analysis``),
same answers (``search.queries`` dataclasses) as Elasticsearch. Its own
SQLite file (``SEARCH_EMBEDDED_PATH``), whatever the main database is, so it
works beside PostgreSQL as well as beside the quick start's SQLite.

FTS5 does the matching and BM25 per column; the parts Elasticsearch does in
its query DSL — "every word, or most character pairs", the title-phrase and
course-code boosts, the kind weight, facets — are done here in Python over
the candidates, which is fine at the quick start's scale (17k documents).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from search import analysis, documents
from search.models import IndexChange
from search.queries import (
    BODY_BIGRAMS_BOOST,
    BODY_WORDS_BOOST,
    CODE_BOOST,
    COURSE_WORDS_BOOST,
    EXPANSION_PHRASE_BOOST,
    FACETS,
    KIND_BOOSTS,
    PINYIN_BOOST,
    SUGGEST_KINDS,
    TITLE_BIGRAMS_BOOST,
    TITLE_PHRASE_BOOST,
    TITLE_WORDS_BOOST,
    FacetValue,
    SearchPage,
    SearchParams,
    Suggestion,
    check_window,
    hit_from_source,
)

TEXT_COLUMNS = ("title_words", "title_bigrams", "course_words", "body_words", "body_bigrams")
COLUMN_WEIGHTS = (
    TITLE_WORDS_BOOST,
    TITLE_BIGRAMS_BOOST,
    COURSE_WORDS_BOOST,
    BODY_WORDS_BOOST,
    BODY_BIGRAMS_BOOST,
)
# FTS5 bm25() is on a smaller scale than Elasticsearch's summed clauses: the
# bonuses are scaled down to keep the same order of effects.
BONUS_SCALE = 2.0
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    object_id INTEGER NOT NULL,
    live INTEGER NOT NULL,
    public INTEGER NOT NULL,
    published_at TEXT,
    updated_at TEXT,
    source TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(
    doc_id UNINDEXED, {", ".join(TEXT_COLUMNS)},
    tokenize = "unicode61 remove_diacritics 0 tokenchars '+#._-'"
);
CREATE TABLE IF NOT EXISTS suggest_keys (key TEXT NOT NULL, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS suggest_key ON suggest_keys (key);
CREATE INDEX IF NOT EXISTS suggest_doc ON suggest_keys (doc_id);
"""
BULK_CHUNK = 1000
_lock = threading.Lock()


def index_path() -> Path:
    return Path(settings.SEARCH_EMBEDDED_PATH)


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.executescript(SCHEMA)
        yield connection
    finally:
        connection.close()


def _fts_phrase(token: str) -> str:
    """A token as an FTS5 string: double quotes are its only syntax inside."""
    return '"' + token.replace('"', '""') + '"'


def _write(
    connection: sqlite3.Connection, sources: Iterable[dict[str, Any]], *, replace: bool = True
) -> int:
    count = 0
    for source in sources:
        doc_id = source["_id"]
        if replace:
            _delete(connection, [doc_id])
        body = documents.strip_meta(source)
        cursor = connection.execute(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc_id,
                body["kind"],
                body["object_id"],
                int(body.get("live", True)),
                int(body.get("public", True)),
                body.get("published_at"),
                body.get("updated_at"),
                json.dumps(body, ensure_ascii=False),
            ),
        )
        # The full-text row shares the document row's rowid: deletes find it
        # by rowid instead of scanning the (unindexed) doc_id column.
        connection.execute(
            f"INSERT INTO docs_fts (rowid, doc_id, {', '.join(TEXT_COLUMNS)})"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cursor.lastrowid, doc_id, *(body.get(column, "") for column in TEXT_COLUMNS)),
        )
        connection.executemany(
            "INSERT INTO suggest_keys VALUES (?, ?)",
            [(key, doc_id) for key in body.get("suggest_keys", [])],
        )
        count += 1
    return count


def _delete(connection: sqlite3.Connection, doc_ids: Iterable[str]) -> None:
    for doc_id in doc_ids:
        row = connection.execute("SELECT rowid FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            continue
        connection.execute("DELETE FROM docs_fts WHERE rowid = ?", (row[0],))
        connection.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))
        connection.execute("DELETE FROM suggest_keys WHERE doc_id = ?", (doc_id,))


@dataclass
class EmbeddedRebuildReport:
    index: str
    documents: int
    seconds: float
    replayed: int = 0
    dropped: list[str] = field(default_factory=list)

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


class EmbeddedBackend:
    name = "embedded"

    # -- writing ---------------------------------------------------------------

    def rebuild(
        self,
        *,
        progress_factory: Callable[[str, int], Any] | None = None,
        sources: Iterable[dict[str, Any]] | None = None,
    ) -> EmbeddedRebuildReport:
        """Build a new file beside the live one and move it into place
        (``os.replace`` is atomic: readers see the old file or the new one)."""
        clock = time.perf_counter()
        started_at = timezone.now()
        target = index_path()
        building = target.with_suffix(".building")
        building.unlink(missing_ok=True)
        total = sum(documents.public_counts().values())
        items = sources if sources is not None else documents.all_sources()
        with _connect(building) as connection:
            if progress_factory is not None:
                with progress_factory("indexing", total) as advance:
                    count = 0
                    for source in items:
                        count += _write(connection, [source], replace=False)
                        advance(1)
            else:
                count = _write(connection, items, replace=False)
            connection.commit()
        with _lock:
            os.replace(building, target)
        replayed = self._replay(started_at)
        return EmbeddedRebuildReport(
            index=str(target),
            documents=count,
            seconds=time.perf_counter() - clock,
            replayed=replayed,
        )

    def _replay(self, since: Any) -> int:
        rows = list(IndexChange.objects.filter(created_at__gte=since))
        if rows:
            self.sync({kind: ids for kind, ids in _changes(rows).items()})
        return len(rows)

    def sync(self, changes: dict[str, set[int]]) -> None:
        from search.indexing import _dependents

        expanded = _dependents(changes)
        with _lock, _connect() as connection:
            for kind in documents.KINDS:
                ids = expanded.get(kind, set())
                if not ids:
                    continue
                sources = list(documents.SOURCES[kind](sorted(ids)))
                found = {source["object_id"] for source in sources}
                _delete(
                    connection,
                    [documents.document_id(kind, object_id) for object_id in ids - found],
                )
                _write(connection, sources)
            connection.commit()

    def drain_all(self) -> int:
        total = 0
        while True:
            with transaction.atomic():
                rows = list(
                    IndexChange.objects.filter(processed_at__isnull=True).order_by("id")[:500]
                )
                if not rows:
                    return total
                self.sync(_changes(rows))
                IndexChange.objects.filter(pk__in=[row.pk for row in rows]).update(
                    processed_at=timezone.now()
                )
                total += len(rows)

    # -- reading ---------------------------------------------------------------

    def search(self, params: SearchParams) -> SearchPage:
        check_window(params.offset, params.limit)
        analysed = analysis.analyse_query(params.query)
        words = tuple(dict.fromkeys([*analysed.words, *analysed.codes]))
        expansion_words = [
            tuple(analysis.words(name, normalized=True)) for name in analysed.expansions
        ]
        tokens = {*words, *analysed.bigrams, *(w for group in expansion_words for w in group)}
        if not tokens or not index_path().exists():
            return SearchPage(total=0, hits=[])
        expression = " OR ".join(_fts_phrase(token) for token in sorted(tokens))
        weights = ", ".join(str(weight) for weight in COLUMN_WEIGHTS)
        columns = "f.title_words, f.title_bigrams, f.course_words, f.body_words, f.body_bigrams"
        with _connect() as connection:
            rows = connection.execute(
                f"""
                SELECT d.source, bm25(docs_fts, 0, {weights}), {columns}
                FROM docs_fts f JOIN docs d ON d.doc_id = f.doc_id
                WHERE docs_fts MATCH ? AND d.live = 1 AND d.public = 1
                """,
                (expression,),
            ).fetchall()
            if analysed.pinyin_key:
                # Pinyin is not in the text columns: its documents come from the keys.
                found = {_key(row[0]) for row in rows}
                rows += [
                    row
                    for row in connection.execute(
                        f"""
                        SELECT d.source, 0, {columns}
                        FROM suggest_keys s JOIN docs d ON d.doc_id = s.doc_id
                        JOIN docs_fts f ON f.rowid = d.rowid
                        WHERE s.key = ? AND d.live = 1 AND d.public = 1
                        """,
                        (analysed.pinyin_key,),
                    ).fetchall()
                    if _key(row[0]) not in found
                ]
        cjk_bigrams = [gram for gram in analysed.bigrams if analysis.CJK_RUN.match(gram)]
        phrase = " ".join(cjk_bigrams) if len(cjk_bigrams) > 1 else None
        expansion_phrases = [
            " ".join(analysis.bigrams(name, normalized=True)) for name in analysed.expansions
        ]
        scored: list[tuple[float, dict[str, Any]]] = []
        for source_json, bm25, *columns in rows:
            source = json.loads(source_json)
            if not _filtered_in(source, params):
                continue
            text = dict(zip(TEXT_COLUMNS, columns, strict=True))
            if not _passes_gate(analysed, words, expansion_words, source, text):
                continue
            title_bigrams = f" {text['title_bigrams']} "
            score = -bm25
            if phrase and f" {phrase} " in title_bigrams:
                score += TITLE_PHRASE_BOOST * BONUS_SCALE
            if set(analysed.codes) & set(source.get("codes", [])):
                score += CODE_BOOST * BONUS_SCALE
            if analysed.pinyin_key and analysed.pinyin_key in source.get("suggest_keys", []):
                score += PINYIN_BOOST * BONUS_SCALE
            for expansion in expansion_phrases:
                if f" {expansion} " in title_bigrams:
                    score += EXPANSION_PHRASE_BOOST * BONUS_SCALE
            score *= KIND_BOOSTS.get(source["kind"], 1.0)
            scored.append((score, source))
        if params.order == "recent":
            scored.sort(
                key=lambda item: (item[1].get("published_at") or "", item[1]["kind"]),
                reverse=True,
            )
        else:
            scored.sort(
                key=lambda item: (-item[0], item[1]["kind"], item[1]["object_id"]),
            )
        facets = _facets(source for _, source in scored)
        terms = analysed.highlight_terms
        page = scored[params.offset : params.offset + params.limit]
        return SearchPage(
            total=len(scored),
            hits=[hit_from_source(source, score, terms) for score, source in page],
            facets=facets,
        )

    def suggest(self, prefix: str, *, limit: int = 10) -> list[Suggestion]:
        key = analysis.suggest_key(prefix)
        if not key or not index_path().exists():
            return []
        with _connect() as connection:
            rows = connection.execute(
                f"""
                SELECT DISTINCT d.source FROM suggest_keys s JOIN docs d ON d.doc_id = s.doc_id
                WHERE s.key = ? AND d.live = 1 AND d.public = 1
                  AND d.kind IN ({", ".join("?" for _ in SUGGEST_KINDS)})
                """,
                (key, *SUGGEST_KINDS),
            ).fetchall()
        sources = [json.loads(row[0]) for row in rows]
        # Courses first, then shorter titles: as the Elasticsearch suggester.
        sources.sort(
            key=lambda source: (
                source["kind"] != "course",
                source.get("suggest_length", 0),
                source["object_id"],
            )
        )
        return [
            Suggestion(
                text=source["title"],
                kind=source["kind"],
                object_id=int(source["object_id"]),
                course_code=(source.get("codes") or [None])[0],
            )
            for source in sources[:limit]
        ]


def _key(source_json: str) -> tuple[str, int]:
    source = json.loads(source_json)
    return source["kind"], int(source["object_id"])


def _changes(rows: Iterable[IndexChange]) -> dict[str, set[int]]:
    changes: dict[str, set[int]] = {}
    for row in rows:
        changes.setdefault(row.kind, set()).add(row.object_id)
    return changes


def _filtered_in(source: dict[str, Any], params: SearchParams) -> bool:
    checks: list[tuple[Any, Any]] = [
        (params.kind, source.get("kind")),
        (params.college, source.get("college")),
        (params.resource_type, source.get("resource_type")),
        (params.difficulty, source.get("difficulty")),
    ]
    if any(wanted is not None and wanted != value for wanted, value in checks):
        return False
    if params.major is not None and params.major not in source.get("majors", []):
        return False
    return params.course is None or params.course in source.get("course_ids", [])


def _bigrams_required(count: int) -> int:
    """Elasticsearch's ``3<75%``: all of up to three, else 75 % rounded down."""
    return count if count <= 3 else int(count * 0.75)


def _passes_gate(
    analysed: analysis.AnalysedQuery,
    words: tuple[str, ...],
    expansion_words: list[tuple[str, ...]],
    source: dict[str, Any],
    text: dict[str, str],
) -> bool:
    word_tokens = set(f"{text['title_words']} {text['course_words']} {text['body_words']}".split())
    if words and set(words) <= word_tokens:
        return True
    if analysed.bigrams:
        gram_tokens = set(f"{text['title_bigrams']} {text['body_bigrams']}".split())
        held = sum(1 for gram in analysed.bigrams if gram in gram_tokens)
        if held >= _bigrams_required(len(analysed.bigrams)):
            return True
    if set(analysed.codes) & set(source.get("codes", [])):
        return True
    if analysed.pinyin_key and analysed.pinyin_key in source.get("suggest_keys", []):
        return True
    title_course = set(f"{text['title_words']} {text['course_words']}".split())
    return any(group and set(group) <= title_course for group in expansion_words)


def _facets(sources: Iterable[dict[str, Any]]) -> dict[str, list[FacetValue]]:
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACETS}
    for source in sources:
        for name in FACETS:
            value = source.get(name)
            values = value if isinstance(value, list) else [value]
            for item in values:
                if item is not None and item != "":
                    counters[name][str(item)] += 1
    return {
        name: [
            FacetValue(value=value, count=count)
            for value, count in sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        ]
        for name, counter in counters.items()
    }
