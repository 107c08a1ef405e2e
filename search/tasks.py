"""Index tasks (queue ``index``, routed in settings). They take no objects:
the outbox says what to index and the database what it looks like now."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import connection, transaction
from elasticsearch import ApiError, TransportError

from settings.celery import REQUEST_PUBLISH_RETRY

from .indexing import IndexWriteError

logger = logging.getLogger(__name__)

# Soft/hard limits from RELIABILITY.md ("Index tasks: 60/120"). A drain of
# 500 outbox rows takes well under a second.
SOFT_TIME_LIMIT = 60
TIME_LIMIT = 120
# Elasticsearch down: back off up to 10 minutes (below the broker's
# visibility timeout); the outbox keeps everything meanwhile, and reconcile
# catches up after a longer outage.
RETRY_BACKOFF_MAX = 600


@shared_task(
    name="search.tasks.index_pending",
    bind=True,
    autoretry_for=(TransportError, ApiError, IndexWriteError),
    retry_backoff=True,
    retry_backoff_max=RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def index_pending_task(self: Any) -> int:
    """Drain the outbox. Idempotent: a second run finds nothing pending, and a
    replayed write carries a version Elasticsearch has already seen."""
    from .backends import active_backend

    return active_backend().drain_all()


def _enqueue_drain() -> None:
    try:
        # Fail fast (see REQUEST_PUBLISH_RETRY): the outbox keeps the work and
        # the beat drain picks it up.
        index_pending_task.apply_async(retry=True, retry_policy=REQUEST_PUBLISH_RETRY)
    except Exception:
        # The broker is down: the save has committed and its outbox rows wait;
        # the next enqueue or `search_index drain` (beat) picks them up.
        logger.exception("search: could not enqueue the index drain; outbox rows stay pending")


def _superseded() -> None:
    """Stands in for a drain that a later one of the same transaction replaces."""


def drain_after_commit() -> None:
    """One drain per transaction, however many objects it changed.

    A drain already scheduled at this same savepoint level is disarmed (swapped
    for a no-op, in place: the list keeps its length, which Django's
    ``captureOnCommitCallbacks`` relies on) and a new one goes last, so it runs
    after every other callback of the commit. One scheduled at an outer level
    stays: an inner rollback must not take it away.
    """
    level = set(connection.savepoint_ids)
    # django-stubs types entries as pairs; Django 5 stores (savepoints, callback, robust).
    callbacks: list[tuple[Any, ...]] = connection.run_on_commit
    for position, (savepoints, callback, *rest) in enumerate(callbacks):
        if callback is _enqueue_drain and set(savepoints) == level:
            callbacks[position] = (savepoints, _superseded, *rest)
    transaction.on_commit(_enqueue_drain)
