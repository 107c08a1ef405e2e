"""The transactional outbox for pipeline tasks (RELIABILITY.md C6, C7).

A job is a row committed together with the change that needs it; publishing
to Redis happens only after commit. If the broker is down at that moment the
row stays unsent and :func:`outbox_relay` (a periodic task, and the
``media_outbox_relay`` command) publishes it when Redis is back. A rolled-back
transaction leaves neither a row nor a message. Publishing twice is possible
(publish succeeded, marking failed) and harmless: tasks are idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from media_pipeline.models import OutboxMessage
from settings.celery import REQUEST_PUBLISH_RETRY

logger = logging.getLogger(__name__)

# The relay leaves fresh rows to their own on-commit publish.
RELAY_GRACE_SECONDS = 5
RELAY_BATCH = 200


def outbox_enqueue(task_name: str, args: list[Any]) -> OutboxMessage:
    """Record a task inside the current transaction; publish it on commit."""
    message = OutboxMessage.objects.create(task_name=task_name, args=args)
    transaction.on_commit(partial(outbox_publish, message.pk, REQUEST_PUBLISH_RETRY))
    return message


def outbox_publish(message_id: int, retry_policy: dict[str, Any] | None = None) -> bool:
    """Publish one unsent row; False if it was already sent or the broker failed."""
    with transaction.atomic():
        # skip_locked: the on-commit publish and a relay never send the same
        # row at the same moment; whoever holds the lock does it.
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, sent_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        try:
            current_app.send_task(
                message.task_name,
                args=message.args,
                retry=True,
                retry_policy=retry_policy or current_app.conf.task_publish_retry_policy,
            )
        except Exception as error:  # kombu/redis raise many types; all mean "not sent"
            message.publish_attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:500]
            message.save(update_fields=["publish_attempts", "last_error"])
            logger.warning(
                "outbox %s: publish failed (%s); the relay will retry", message.pk, error
            )
            return False
        message.sent_at = timezone.now()
        message.publish_attempts += 1
        message.save(update_fields=["sent_at", "publish_attempts"])
    return True


def outbox_relay(*, grace_seconds: float = RELAY_GRACE_SECONDS) -> int:
    """Publish every unsent row older than the grace period; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    pending = list(
        OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:RELAY_BATCH]
    )
    sent = 0
    for message_id in pending:
        if outbox_publish(message_id):
            sent += 1
    return sent
