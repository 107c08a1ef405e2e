"""Configuration invariants the pipeline's reliability rests on (C4, C5, C14)."""

from __future__ import annotations

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from media_pipeline.tasks import asset_transcode_task
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
