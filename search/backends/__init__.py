"""Search backends, chosen by settings: Elasticsearch when ``ELASTICSEARCH_URL``
is set, else the embedded SQLite FTS5 backend of the quick start. Both take
their tokens from ``search.analysis`` and their documents from
``search.documents``, and answer with the same dataclasses (``search.queries``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings

if TYPE_CHECKING:
    from search.queries import SearchPage, SearchParams, Suggestion


class SearchBackend(Protocol):
    name: str

    def search(self, params: SearchParams) -> SearchPage: ...

    def suggest(self, prefix: str, *, limit: int = 10) -> list[Suggestion]: ...

    def drain_all(self) -> int: ...

    def rebuild(self, *, progress_factory: Callable[[str, int], Any] | None = None) -> Any: ...


class ElasticsearchBackend:
    name = "elasticsearch"

    def search(self, params: SearchParams) -> SearchPage:
        from search import queries

        return queries.search(params)

    def suggest(self, prefix: str, *, limit: int = 10) -> list[Suggestion]:
        from search import queries

        return queries.suggest(prefix, limit=limit)

    def drain_all(self) -> int:
        from search import indexing

        return indexing.drain_all()

    def rebuild(self, *, progress_factory: Callable[[str, int], Any] | None = None) -> Any:
        from search import indexing

        return indexing.rebuild(progress_factory=progress_factory)


def active_backend() -> SearchBackend:
    if settings.ELASTICSEARCH_URL:
        return ElasticsearchBackend()
    from .embedded import EmbeddedBackend

    return EmbeddedBackend()
