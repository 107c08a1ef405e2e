"""The Elasticsearch connection. Only ``search/`` imports ``elasticsearch``."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from elasticsearch import Elasticsearch

# Searches and single-document writes answer in milliseconds; 5 s means the
# server is in trouble, and a request should fail rather than hang a worker.
REQUEST_TIMEOUT_SECONDS = 5
# Bulk requests of a rebuild (1,000 documents) and index creation take longer.
BULK_TIMEOUT_SECONDS = 60


@cache
def _client(url: str) -> Elasticsearch:
    return Elasticsearch(
        url,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=2,
        retry_on_timeout=True,
    )


def client() -> Elasticsearch:
    """One client (and connection pool) per process and URL."""
    if not settings.ELASTICSEARCH_URL:
        raise RuntimeError("ELASTICSEARCH_URL is not set; the embedded backend is in use")
    return _client(settings.ELASTICSEARCH_URL)


def cluster_health() -> dict[str, Any]:
    return dict(client().cluster.health(wait_for_status="yellow", timeout="30s"))


def server_version() -> str:
    """The version of the (single) node. ``info()`` (``GET /``) is not served by
    the minimal distribution used in development, so ask the nodes API."""
    nodes = client().nodes.info(node_id="_local", metric="_none")["nodes"]
    return str(next(iter(nodes.values()))["version"])
