"""RELIABILITY.md C7: Redis down at commit loses no job (own redis-server)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from media_pipeline import outbox, services
from media_pipeline.models import AssetStatus, MediaAsset, OutboxMessage
from settings.celery import app
from tests.media_pipeline.factories import asset_stored
from tests.media_pipeline.worker import free_port, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db]


class ThrowawayRedis:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port)
        wait_until(lambda: self._ping(client), 20, what="redis-server")

    @staticmethod
    def _ping(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _broker_use(url: str) -> None:
    """Point the Celery app's publisher at ``url`` (pools are rebuilt lazily)."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)
    previous = app.conf.broker_url
    _broker_use(server.url)
    yield server
    server.stop()
    _broker_use(previous)


def test_redis_down_at_commit_keeps_the_job_until_the_relay_publishes_it(
    college_a, clip_small: Path, own_redis: ThrowawayRedis, django_capture_on_commit_callbacks
) -> None:
    asset = asset_stored(college_a.pk, clip_small)
    own_redis.stop()
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
