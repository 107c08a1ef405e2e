"""Learner search on Elasticsearch: the query, facets, highlights, suggestions.

Every public query goes through ``public_filter``: documents must say
``live`` and ``public`` whatever else is asked, so a document that should not
be in the index (a delete still queued, a restore from an old snapshot) never
reaches a learner (RELIABILITY.md S4, S11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from elasticsearch import NotFoundError
from elasticsearch.dsl import Q, Search
from elasticsearch.dsl.query import Query

from . import analysis
from .backends.elasticsearch import client
from .indexing import MAX_RESULT_WINDOW, alias_name

Order = Literal["relevance", "recent"]
FACETS = ("kind", "majors", "college", "resource_type", "difficulty")
FACET_SIZE = 30  # 21 colleges and 15 majors: every value fits
SUGGEST_KINDS = ("course", "chapter")

# Field weights, tuned on the labelled query set (tests/search/relevance.py):
# a title match beats a course-name match beats a body match; bigrams add
# recall where jieba segments differently, at a lower weight.
TITLE_WORDS_BOOST = 3.0
TITLE_BIGRAMS_BOOST = 2.0
COURSE_WORDS_BOOST = 1.5
BODY_WORDS_BOOST = 0.5
BODY_BIGRAMS_BOOST = 0.3
# The query as a contiguous run of the title (bigram phrase): 基础会计学 → the course.
TITLE_PHRASE_BOOST = 6.0
# An exact course code (00015) is the strongest signal a learner can give.
CODE_BOOST = 30.0
# A pinyin or initials query (kuaiji, kj) matching a course or chapter's keys.
PINYIN_BOOST = 4.0
# An abbreviation (马原) stands for a full name: find that name as a phrase.
EXPANSION_PHRASE_BOOST = 8.0
# Share of a query's character pairs a document must hold when not all its
# words are there: 3 of 4, 2 of 3, 1 of 2.
BIGRAMS_REQUIRED = "3<75%"
# Courses are the usual destination of a name query; chapters next.
KIND_BOOSTS = {"course": 2.0, "chapter": 1.2, "resource": 1.0}


class QueryTooDeep(ValueError):
    """offset + limit beyond the index's max_result_window (→ HTTP 400)."""


@dataclass(frozen=True)
class SearchParams:
    query: str
    kind: str | None = None
    major: str | None = None
    course: int | None = None
    college: str | None = None
    resource_type: str | None = None
    difficulty: int | None = None
    order: Order = "relevance"
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class SearchHit:
    kind: str
    object_id: int
    title: str
    summary: str
    course_id: int | None
    course_code: str | None
    course_title: str | None
    college: str
    resource_type: str | None
    difficulty: int | None
    published_at: str | None
    score: float | None
    highlights: dict[str, str]


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: str
    object_id: int
    course_code: str | None


def check_window(offset: int, limit: int) -> None:
    if offset + limit > MAX_RESULT_WINDOW:
        raise QueryTooDeep(
            f"offset + limit must be at most {MAX_RESULT_WINDOW}; narrow the query instead"
        )


def public_filter() -> list[Query]:
    """The filter every public search carries (S11)."""
    return [Q("term", live=True), Q("term", public=True)]


def _filters(params: SearchParams) -> list[Query]:
    filters = public_filter()
    if params.kind:
        filters.append(Q("term", kind=params.kind))
    if params.major:
        filters.append(Q("term", majors=params.major))
    if params.course:
        filters.append(Q("term", course_ids=params.course))
    if params.college:
        filters.append(Q("term", college=params.college))
    if params.resource_type:
        filters.append(Q("term", resource_type=params.resource_type))
    if params.difficulty:
        filters.append(Q("term", difficulty=params.difficulty))
    return filters


def _match(field_name: str, tokens: tuple[str, ...], boost: float) -> Query:
    return Q("match", **{field_name: {"query": analysis.joined(tokens), "boost": boost}})


def _gate(analysed: analysis.AnalysedQuery, words: tuple[str, ...]) -> list[Query]:
    """What a document must match to be a result at all (any one of these).

    Not "any token": a query like 会计要素 would then return everything about
    会计, and facet counts would mean little. Either every word is somewhere
    in the document, or most of its character pairs are (recall when jieba
    splits a document differently), or it names the course by code or by an
    abbreviation."""
    gate: list[Query] = []
    if words:
        gate.append(
            Q(
                "multi_match",
                query=analysis.joined(words),
                fields=["title_words", "course_words", "body_words"],
                type="cross_fields",
                operator="and",
            )
        )
    if analysed.bigrams:
        gate.append(
            Q(
                "multi_match",
                query=analysis.joined(analysed.bigrams),
                fields=["title_bigrams", "body_bigrams"],
                type="cross_fields",
                minimum_should_match=BIGRAMS_REQUIRED,
            )
        )
    if analysed.codes:
        gate.append(Q("terms", codes=list(analysed.codes)))
    if analysed.pinyin_key:
        gate.append(Q("term", suggest_keys=analysed.pinyin_key))
    for full_name in analysed.expansions:
        gate.append(
            Q(
                "multi_match",
                query=analysis.joined(analysis.words(full_name, normalized=True)),
                fields=["title_words", "course_words"],
                type="cross_fields",
                operator="and",
            )
        )
    return gate


def text_query(analysed: analysis.AnalysedQuery) -> Query:
    """What a document must match (``_gate``), and what ranks it."""
    words = tuple(dict.fromkeys([*analysed.words, *analysed.codes]))
    gate = _gate(analysed, words)
    if not gate:
        return Q("match_none")
    ranking: list[Query] = []
    if words:
        ranking += [
            _match("title_words", words, TITLE_WORDS_BOOST),
            _match("course_words", words, COURSE_WORDS_BOOST),
            _match("body_words", words, BODY_WORDS_BOOST),
        ]
    if analysed.bigrams:
        ranking += [
            _match("title_bigrams", analysed.bigrams, TITLE_BIGRAMS_BOOST),
            _match("body_bigrams", analysed.bigrams, BODY_BIGRAMS_BOOST),
        ]
    cjk_bigrams = tuple(gram for gram in analysed.bigrams if analysis.CJK_RUN.match(gram))
    if len(cjk_bigrams) > 1:
        ranking.append(
            Q(
                "match_phrase",
                title_bigrams={"query": analysis.joined(cjk_bigrams), "boost": TITLE_PHRASE_BOOST},
            )
        )
    if analysed.codes:
        ranking.append(Q("terms", codes=list(analysed.codes), boost=CODE_BOOST))
    if analysed.pinyin_key:
        ranking.append(
            Q("term", suggest_keys={"value": analysed.pinyin_key, "boost": PINYIN_BOOST})
        )
    for full_name in analysed.expansions:
        grams = tuple(analysis.bigrams(full_name, normalized=True))
        ranking.append(_match("course_words", tuple(analysis.words(full_name)), COURSE_WORDS_BOOST))
        ranking.append(
            Q(
                "match_phrase",
                title_bigrams={"query": analysis.joined(grams), "boost": EXPANSION_PHRASE_BOOST},
            )
        )
    # The kind weight is multiplied in, so a course outranks its own chapters
    # and resources for the same text match without drowning a better match
    # of another kind.
    return Q(
        "function_score",
        query=Q("bool", filter=[Q("bool", should=gate, minimum_should_match=1)], should=ranking),
        functions=[
            {"filter": Q("term", kind=kind).to_dict(), "weight": boost}
            for kind, boost in KIND_BOOSTS.items()
        ],
        score_mode="first",
        boost_mode="multiply",
    )


def build_search(params: SearchParams, *, index: str | None = None) -> Search:
    check_window(params.offset, params.limit)
    analysed = analysis.analyse_query(params.query)
    search = Search(using=client(), index=index or alias_name())
    search = search.query(Q("bool", must=[text_query(analysed)], filter=_filters(params)))
    # Ties broken by id so deep pages neither repeat nor skip documents.
    if params.order == "recent":
        search = search.sort({"published_at": {"order": "desc"}}, "kind", "object_id")
    else:
        search = search.sort("_score", {"published_at": {"order": "desc"}}, "kind", "object_id")
    search = search.extra(track_total_hits=True, track_scores=True)
    search = search[params.offset : params.offset + params.limit]
    for facet in FACETS:
        search.aggs.bucket(facet, "terms", field=facet, size=FACET_SIZE)
    return search.source(
        [
            "kind",
            "object_id",
            "title",
            "summary",
            "course_ids",
            "codes",
            "course_title",
            "college",
            "resource_type",
            "difficulty",
            "published_at",
        ]
    )


def hit_from_source(
    source: dict[str, Any], score: float | None, terms: tuple[str, ...]
) -> SearchHit:
    highlights = {}
    for name in ("title", "summary"):
        snippet = analysis.highlight(source.get(name) or "", terms)
        if snippet:
            highlights[name] = snippet
    course_ids = source.get("course_ids") or []
    codes = source.get("codes") or []
    return SearchHit(
        kind=source["kind"],
        object_id=int(source["object_id"]),
        title=source.get("title") or "",
        summary=source.get("summary") or "",
        course_id=int(course_ids[0]) if course_ids else None,
        course_code=codes[0] if codes else None,
        course_title=source.get("course_title") or None,
        college=source.get("college") or "",
        resource_type=source.get("resource_type"),
        difficulty=source.get("difficulty"),
        published_at=source.get("published_at"),
        score=score,
        highlights=highlights,
    )


def search(params: SearchParams, *, index: str | None = None) -> SearchPage:
    search_request = build_search(params, index=index)
    try:
        response = search_request.execute()
    except NotFoundError:
        # No index yet (a fresh install before its first rebuild): nothing to find.
        return SearchPage(total=0, hits=[])
    terms = analysis.analyse_query(params.query).highlight_terms
    hits = [hit_from_source(hit.to_dict(), hit.meta.score, terms) for hit in response.hits]
    facets = {
        name: [
            FacetValue(value=str(bucket.key), count=int(bucket.doc_count))
            for bucket in getattr(response.aggregations, name).buckets
        ]
        for name in FACETS
    }
    total = response.hits.total.value  # type: ignore[attr-defined]
    return SearchPage(total=int(total), hits=hits, facets=facets)


def suggest(prefix: str, *, limit: int = 10, index: str | None = None) -> list[Suggestion]:
    key = analysis.suggest_key(prefix)
    if not key:
        return []
    search = (
        Search(using=client(), index=index or alias_name())
        .query(
            Q(
                "bool",
                filter=[
                    *public_filter(),
                    Q("terms", kind=list(SUGGEST_KINDS)),
                    Q("term", suggest_keys=key),
                ],
            )
        )
        # "course" sorts after "chapter": descending puts courses first.
        .sort({"kind": {"order": "desc"}}, "suggest_length", "object_id")
        .source(["kind", "object_id", "title", "codes"])[:limit]
    )
    try:
        hits = search.execute().hits
    except NotFoundError:
        return []
    return [
        Suggestion(
            text=hit.title,
            kind=hit.kind,
            object_id=int(hit.object_id),
            course_code=(list(hit.codes) or [None])[0] if "codes" in hit else None,
        )
        for hit in hits
    ]
