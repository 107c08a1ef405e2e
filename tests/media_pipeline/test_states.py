"""The state machine: guarded transitions, leases, attempts (RELIABILITY B1)."""

from __future__ import annotations

import os
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from media_pipeline import services, states
from media_pipeline.models import AssetEvent, AssetStatus, MediaAsset, OutboxMessage
from media_pipeline.outbox import outbox_publish
from tests.media_pipeline.factories import asset_stored

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def asset(college_a, clip_small: Path) -> MediaAsset:
    return asset_stored(college_a.pk, clip_small)


def _outbox_callbacks(callbacks: list) -> list:
    # Other apps (cms's response cache) register their own on-commit work.
    return [c for c in callbacks if getattr(c, "func", None) is outbox_publish]


def _status(asset: MediaAsset) -> str:
    return MediaAsset.objects.get(pk=asset.pk).status


def _dead_holder() -> str:
    process = subprocess.Popen(["true"])  # a pid that no longer exists
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:deadbeef"


def test_transitions_outside_the_table_are_refused(asset: MediaAsset) -> None:
    assert not states.asset_transition(asset.pk, to=AssetStatus.READY)
    assert not states.asset_transition(asset.pk, to=AssetStatus.TRANSCODING)
    assert _status(asset) == AssetStatus.PENDING
    assert AssetEvent.objects.filter(asset=asset).count() == 0


def test_submit_queues_once_and_records_one_outbox_row(
    asset: MediaAsset, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.asset_submit(asset)
        assert not services.asset_submit(asset)  # already queued: a no-op
    assert _status(asset) == AssetStatus.QUEUED
    assert list(OutboxMessage.objects.values_list("task_name", "args")) == [
        (services.TRANSCODE_TASK, [asset.pk])
    ]
    assert len(_outbox_callbacks(callbacks)) == 1


def test_rolled_back_submit_leaves_no_job(
    asset: MediaAsset, django_capture_on_commit_callbacks
) -> None:
    """C6: nothing published, no outbox row, status unchanged."""

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.asset_submit(asset)
        raise RuntimeError("editor's save failed")
    assert _outbox_callbacks(callbacks) == []
    assert OutboxMessage.objects.count() == 0
    assert _status(asset) == AssetStatus.PENDING


def test_second_claim_while_the_first_is_alive_is_a_no_op(asset: MediaAsset) -> None:
    """C4/C9: a live holder (this test process's parent is alive) keeps the job."""
    services.asset_submit(asset)
    first = states.asset_claim(asset.pk, f"{socket.gethostname()}:{os.getppid()}:first")
    assert first is not None and first.attempt == 1
    assert states.asset_claim(asset.pk, states.holder_new()) is None
    assert MediaAsset.objects.get(pk=asset.pk).attempts == 1


def test_claim_of_a_dead_holders_job_takes_over_and_counts_the_attempt(asset: MediaAsset) -> None:
    """C1: kill -9 of the pool child; the redelivered copy takes over at once."""
    services.asset_submit(asset)
    assert states.asset_claim(asset.pk, _dead_holder()) is not None
    claim = states.asset_claim(asset.pk, states.holder_new())
    assert claim is not None and claim.took_over and claim.attempt == 2


def test_third_lost_worker_fails_the_asset(asset: MediaAsset) -> None:
    """C2: "worker lost ×3", no infinite loop."""
    services.asset_submit(asset)
    for _ in range(3):
        assert states.asset_claim(asset.pk, _dead_holder()) is not None
    assert states.asset_claim(asset.pk, states.holder_new()) is None
    refreshed = MediaAsset.objects.get(pk=asset.pk)
    assert (refreshed.status, refreshed.failure_code, refreshed.failure_message) == (
        AssetStatus.FAILED,
        "worker_lost",
        "worker lost ×3",
    )


def test_claim_of_a_missing_asset_is_a_no_op(db) -> None:
    """C8: a deleted row is acked, not retried."""
    assert states.asset_claim(987654321, states.holder_new()) is None


def test_cancel_takes_the_lease_away_from_a_running_job(asset: MediaAsset) -> None:
    services.asset_submit(asset)
    claim = states.asset_claim(asset.pk, states.holder_new())
    assert claim is not None
    assert services.asset_cancel(asset)
    with pytest.raises(states.LeaseLost):
        states.asset_heartbeat(claim, progress_percent=50, eta_seconds=10)
    # The cancelled execution can no longer move the asset either.
    assert not states.asset_transition(asset.pk, to=AssetStatus.TRANSCODING, holder=claim.holder)
    refreshed = MediaAsset.objects.get(pk=asset.pk)
    assert (refreshed.status, refreshed.failure_code) == (AssetStatus.FAILED, "cancelled")


def test_retry_requeues_a_failed_asset_with_a_fresh_budget(asset: MediaAsset) -> None:
    services.asset_submit(asset)
    states.asset_claim(asset.pk, states.holder_new())
    services.asset_cancel(asset)
    assert services.asset_retry(asset)
    refreshed = MediaAsset.objects.get(pk=asset.pk)
    assert (refreshed.status, refreshed.attempts, refreshed.failure_code) == (
        AssetStatus.QUEUED,
        0,
        "",
    )
    assert OutboxMessage.objects.filter(args=[asset.pk]).count() == 2


def test_heartbeat_records_progress_and_eta(asset: MediaAsset) -> None:
    services.asset_submit(asset)
    claim = states.asset_claim(asset.pk, states.holder_new())
    assert claim is not None
    states.asset_heartbeat(claim, progress_percent=42.5, eta_seconds=17.8)
    refreshed = MediaAsset.objects.get(pk=asset.pk)
    assert (refreshed.progress_percent, refreshed.eta_seconds) == (42.5, 17)


def test_sweeper_requeues_a_stuck_job_then_fails_it_when_attempts_are_spent(
    asset: MediaAsset,
) -> None:
    """C15: no heartbeat for longer than the threshold and nobody working."""
    services.asset_submit(asset)
    states.asset_claim(asset.pk, "elsewhere:1:gone")
    long_ago = timezone.now() - timedelta(hours=3)
    MediaAsset.objects.filter(pk=asset.pk).update(heartbeat_at=long_ago)
    assert services.asset_sweep(stuck_after_seconds=600) == {
        "requeued": 1,
        "failed": 0,
        "republished": 0,
    }
    assert _status(asset) == AssetStatus.QUEUED
    MediaAsset.objects.filter(pk=asset.pk).update(
        status=AssetStatus.TRANSCODING, attempts=3, heartbeat_at=long_ago
    )
    assert services.asset_sweep(stuck_after_seconds=600) == {
        "requeued": 0,
        "failed": 1,
        "republished": 0,
    }
    refreshed = MediaAsset.objects.get(pk=asset.pk)
    assert (refreshed.status, refreshed.failure_code) == (AssetStatus.FAILED, "stuck")


def test_sweeper_leaves_a_job_with_a_fresh_heartbeat_alone(asset: MediaAsset) -> None:
    services.asset_submit(asset)
    states.asset_claim(asset.pk, "elsewhere:1:busy")
    assert services.asset_sweep(stuck_after_seconds=600) == {
        "requeued": 0,
        "failed": 0,
        "republished": 0,
    }
    assert _status(asset) == AssetStatus.PROBING


def test_an_asset_whose_message_was_lost_is_published_again_once(
    asset: MediaAsset, settings
) -> None:
    """A message Redis accepted, then lost (machine crash), is marked sent:
    only the sweeper can notice, once the visibility timeout has passed."""
    settings.MEDIA_QUEUED_REPUBLISH_AFTER_SECONDS = 3600
    services.asset_submit(asset)
    long_ago = timezone.now() - timedelta(hours=2)
    MediaAsset.objects.filter(pk=asset.pk).update(queued_at=long_ago)
    OutboxMessage.objects.update(created_at=long_ago, sent_at=long_ago)

    first = services.asset_sweep(stuck_after_seconds=600)
    second = services.asset_sweep(stuck_after_seconds=600)

    assert (first["republished"], second["republished"]) == (1, 0)
    assert OutboxMessage.objects.filter(args=[asset.pk]).count() == 2
    assert _status(asset) == AssetStatus.QUEUED


def test_a_recently_queued_asset_is_not_published_again(asset: MediaAsset, settings) -> None:
    settings.MEDIA_QUEUED_REPUBLISH_AFTER_SECONDS = 3600
    services.asset_submit(asset)

    assert services.asset_sweep(stuck_after_seconds=600)["republished"] == 0
    assert OutboxMessage.objects.filter(args=[asset.pk]).count() == 1
