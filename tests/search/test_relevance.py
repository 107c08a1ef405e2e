"""Relevance on the full demo network: success@5 and MRR over the labelled set.

The demo network (215 courses, 2,196 chapters, 14,997 resources) is loaded
once for this module, inside a transaction rolled back at the end, and
rebuilt into the test index; the scores are printed for docs/benchmarks.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from cms.models import Major
from search import documents, indexing, queries
from search.backends.embedded import EmbeddedBackend

from .relevance import QUERIES, relevant_hits, score

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db]

# Issue #5's target on Elasticsearch.
SUCCESS_AT_5_TARGET = 0.95
MRR_FLOOR = 0.85
# The embedded backend ranks with FTS5's BM25 and the same bonuses; it
# scored as Elasticsearch did (docs/benchmarks.md) and is held to the same.
EMBEDDED_SUCCESS_AT_5_FLOOR = 0.95


@pytest.fixture(scope="module")
def demo_index(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[None]:
    """Both backends indexed from one pass of analysis (~20 s) over the demo."""
    saved = settings.SEARCH_EMBEDDED_PATH
    settings.SEARCH_EMBEDDED_PATH = str(tmp_path_factory.mktemp("embedded") / "search.sqlite3")
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=StringIO())
        connection.check_constraints()
        sources = list(documents.all_sources())
        indexing.rebuild(sources=sources)
        EmbeddedBackend().rebuild(sources=sources)
        yield
        transaction.set_rollback(True)
    settings.SEARCH_EMBEDDED_PATH = saved


def _es_search(query: str) -> list[tuple[str, int]]:
    page = queries.search(queries.SearchParams(query=query, limit=10))
    return [(hit.kind, hit.object_id) for hit in page.hits]


def test_the_labelled_set_covers_all_majors_with_at_least_60_queries(demo_index, django_db_blocker):
    with django_db_blocker.unblock():
        majors = set(Major.objects.values_list("code", flat=True))
        assert len(QUERIES) >= 60
        assert {labelled.major for labelled in QUERIES} == majors
        assert all(relevant_hits(labelled) for labelled in QUERIES)


def test_elasticsearch_relevance_meets_the_target(demo_index, django_db_blocker):
    with django_db_blocker.unblock():
        result = score(QUERIES, _es_search, relevant_hits)

    print(
        f"\nelasticsearch: success@5 {result.success_at_5:.3f}  MRR {result.mrr:.3f}  "
        f"({len(QUERIES)} queries) misses: {result.misses}"
    )
    assert result.success_at_5 >= SUCCESS_AT_5_TARGET, result.misses
    assert result.mrr >= MRR_FLOOR


def _embedded_search(query: str) -> list[tuple[str, int]]:
    page = EmbeddedBackend().search(queries.SearchParams(query=query, limit=10))
    return [(hit.kind, hit.object_id) for hit in page.hits]


def test_embedded_relevance_meets_its_floor(demo_index, django_db_blocker):
    with django_db_blocker.unblock():
        result = score(QUERIES, _embedded_search, relevant_hits)

    print(
        f"\nembedded: success@5 {result.success_at_5:.3f}  MRR {result.mrr:.3f}  "
        f"({len(QUERIES)} queries) misses: {result.misses}"
    )
    assert result.success_at_5 >= EMBEDDED_SUCCESS_AT_5_FLOOR, result.misses
