"""The Elasticsearch connection. Only ``search/`` imports ``elasticsearch``.

Documents, analysis and indexing arrive with the search issue (#5).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from elasticsearch import Elasticsearch

REQUEST_TIMEOUT_SECONDS = 5


def client() -> Elasticsearch:
    if not settings.ELASTICSEARCH_URL:
        raise RuntimeError("ELASTICSEARCH_URL is not set; the embedded backend is in use")
    return Elasticsearch(
        settings.ELASTICSEARCH_URL,
        request_timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=2,
        retry_on_timeout=True,
    )


def cluster_health() -> dict[str, Any]:
    return dict(client().cluster.health(wait_for_status="yellow", timeout="30s"))


def server_version() -> str:
    """The version of the (single) node. ``info()`` (``GET /``) is not served by
    the minimal distribution used in development, so ask the nodes API."""
    nodes = client().nodes.info(node_id="_local", metric="_none")["nodes"]
    return str(next(iter(nodes.values()))["version"])
