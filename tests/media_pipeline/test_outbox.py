"""RELIABILITY.md C7: Redis down at commit loses no job (own redis-server)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from media_pipeline import outbox, services
from media_pipeline.models import AssetStatus, MediaAsset, OutboxMessage
from tests.media_pipeline.factories import asset_stored
from tests.media_pipeline.worker import ThrowawayRedis, celery_broker

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path / "redis")
    with celery_broker(server.url):
        yield server
    server.kill()


def test_redis_down_at_commit_keeps_the_job_until_the_relay_publishes_it(
    college_a, clip_small: Path, own_redis: ThrowawayRedis, django_capture_on_commit_callbacks
) -> None:
    asset = asset_stored(college_a.pk, clip_small)
    own_redis.kill()
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.asset_submit(asset)  # the editor's save succeeds
    assert time.monotonic() - started < 5  # fails fast, not Celery's full retry policy
    message = OutboxMessage.objects.get(args=[asset.pk])
    assert message.sent_at is None and message.last_error
    assert MediaAsset.objects.get(pk=asset.pk).status == AssetStatus.QUEUED

    own_redis.start()  # the broker is back; the periodic relay runs
    assert outbox.outbox_relay(grace_seconds=0) == 1
    assert outbox.outbox_relay(grace_seconds=0) == 0  # sent once
    message.refresh_from_db()
    assert message.sent_at is not None
    queued = redis.Redis(port=own_redis.port).lrange("transcode", 0, -1)
    assert len(queued) == 1
    envelope = json.loads(queued[0])
    assert envelope["headers"]["task"] == services.TRANSCODE_TASK
    assert envelope["headers"]["argsrepr"] == f"[{asset.pk}]"
