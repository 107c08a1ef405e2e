"""Configuration invariants the pipeline's reliability rests on (C4, C5, C14)."""

from __future__ import annotations

import os

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from media_pipeline.limits import media_limits
from media_pipeline.tasks import asset_transcode_task, upload_finalize_task
from media_pipeline.transcode import run_limits
from settings.celery import app


def test_time_limits_nest_inside_the_visibility_timeout() -> None:
    """C4: kombu must never redeliver a transcode that is still running."""
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert asset_transcode_task.soft_time_limit > settings.MEDIA_TRANSCODE_TIMEOUT_SECONDS
    assert asset_transcode_task.soft_time_limit < asset_transcode_task.time_limit
    assert asset_transcode_task.time_limit + asset_transcode_task.retry_backoff_max < (
        visibility_timeout
    )


def test_every_retry_countdown_stays_below_the_visibility_timeout() -> None:
    """C5: backoff with jitter, capped, at every retry up to max_retries."""
    task = asset_transcode_task
    assert (task.retry_backoff, task.retry_jitter, task.max_retries) == (True, True, 5)
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for retries in range(task.max_retries + 1):
        countdown = get_exponential_backoff_interval(
            factor=1, retries=retries, maximum=task.retry_backoff_max, full_jitter=False
        )
        assert countdown <= task.retry_backoff_max <= visibility_timeout


def test_transcode_task_is_late_acked_requeued_on_worker_loss_and_routed() -> None:
    task = asset_transcode_task
    assert (task.acks_late, task.reject_on_worker_lost) == (True, True)
    route = app.amqp.router.route({}, task.name, (1,), {})
    assert route["queue"].name == "transcode"


def test_only_json_is_accepted() -> None:
    """C14: a pickle message is never deserialised."""
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"


def test_a_starting_worker_removes_only_old_workspaces(tmp_path, monkeypatch) -> None:
    import os
    import tempfile

    from media_pipeline.tasks import workspaces_clean_at_start

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old, fresh = tmp_path / "wanxue-media-old", tmp_path / "wanxue-media-fresh"
    old.mkdir()
    fresh.mkdir()
    long_ago = os.path.getmtime(old) - settings.MEDIA_TRANSCODE_TIME_LIMIT - 3600
    os.utime(old, (long_ago, long_ago))
    assert workspaces_clean_at_start() == 1
    assert (old.exists(), fresh.exists()) == (False, True)


def test_the_longest_accepted_lecture_fits_its_transcode_budget_at_the_floor_speed() -> None:
    """A source validation accepts must not be doomed to time out: at
    MEDIA_TRANSCODE_SPEED_FLOOR × realtime, a source of the maximum duration
    finishes inside its budget, and that budget nests in the task's limits."""
    limits = media_limits()
    longest = settings.MEDIA_MAX_DURATION_SECONDS
    budget = limits.transcode_budget(longest)

    assert longest / settings.MEDIA_TRANSCODE_SPEED_FLOOR < budget
    assert budget < asset_transcode_task.soft_time_limit


def test_a_short_clip_gets_a_short_budget_and_cpu_follows_the_cores() -> None:
    limits = media_limits().with_(transcode_speed_floor=0.5, transcode_timeout_base_seconds=600)

    ten_minutes = run_limits(limits, 600)

    assert ten_minutes.timeout_seconds == 600 + 600 / 0.5
    assert ten_minutes.cpu_seconds == int(1800 * (os.cpu_count() or 1))
    assert run_limits(limits, 10**9).timeout_seconds == limits.transcode_timeout_seconds


def test_upload_finalize_runs_on_the_default_queue_late_acked_inside_the_timeout() -> None:
    """Not behind hour-long transcodes; redelivered if its worker dies."""
    task = upload_finalize_task
    visibility_timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert (task.acks_late, task.reject_on_worker_lost, task.max_retries) == (True, True, 5)
    assert task.time_limit + task.retry_backoff_max < visibility_timeout
    assert app.amqp.router.route({}, task.name, ("id",), {})["queue"].name == "default"
