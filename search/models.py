"""The search outbox: which objects' documents may be stale.

A row is written in the same transaction as the change it records, so a
rolled-back save leaves none (RELIABILITY.md S3), and a save never waits for
Elasticsearch: if the index (or the broker) is down the rows stay pending and
the next drain indexes them (S1). Processed rows are kept for a while: a
rebuild replays every change made since it started (S8).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class IndexChange(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "course"
        CHAPTER = "chapter", "chapter"
        RESOURCE = "resource", "resource"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The drain only ever reads pending rows, oldest first.
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="search_change_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
