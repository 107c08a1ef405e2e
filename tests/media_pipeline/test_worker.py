"""RELIABILITY.md B1/B4 with a real worker process, real Redis and MinIO.

Slow by nature (a worker start is ~3 s, a transcode a few seconds); each test
asserts the end state and the audit trail (AssetEvent), not timings.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from cms.models import Institution
from media_pipeline import pipeline, services, storage
from media_pipeline.models import AssetEvent, AssetStatus, MediaAsset, OutboxMessage
from settings.celery import app
from tests.media_pipeline import samples
from tests.media_pipeline.factories import asset_stored
from tests.media_pipeline.worker import ThrowawayMinio, Worker, wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _private_queue() -> Iterator[str]:
    """A queue only this test's workers consume, so other agents' workers (and
    our other workers: a Celery retry goes back to the queue it came from) never
    see these messages on the shared Redis."""
    name = f"transcode-test-{uuid.uuid4().hex[:8]}"
    routes = app.conf.task_routes
    app.conf.update(task_routes={"media_pipeline.tasks.*": {"queue": name}})
    yield name
    app.conf.update(task_routes=routes)


queue = pytest.fixture(scope="module")(_private_queue)
own_queue = pytest.fixture(_private_queue)


@pytest.fixture(scope="module")
def committed_database(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The pytest database, for committed rows a worker process can see.

    pytest-django sets the test database up only when some selected test is
    marked django_db; these tests are not (a transactional test's flush would
    empty the database for every later test), so when they run alone the
    database is set up here the way pytest-django does it.
    """
    from django.test.utils import setup_databases, teardown_databases

    if connection.settings_dict["NAME"].startswith("test_"):
        yield
        return
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=0,
            interactive=False,
            keepdb=True,
            aliases={"default"},  # type: ignore[arg-type]  # Django takes a set; the stubs say Mapping
            serialized_aliases=set(),
        )
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=0, keepdb=True)


@pytest.fixture(scope="module")
def worker(queue: str, committed_database, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    started = Worker(queue, log, concurrency=2)
    yield started
    started.stop()


@pytest.fixture
def college(committed_database, django_db_blocker) -> Iterator[Institution]:
    """Committed rows the worker can see, removed again afterwards.

    Not a transactional test: its flush would empty the whole test database,
    Wagtail's root page included, for every later test (with --reuse-db, for
    later runs too). These tests only touch their own institution's rows.
    """
    with django_db_blocker.unblock():
        Institution.objects.filter(code="worker-college").delete()
        institution = Institution.objects.create(
            code="worker-college", name="工人测试学院", kind=Institution.Kind.PARTNER_COLLEGE
        )
        yield institution
        assets = MediaAsset.objects.filter(institution=institution)
        for asset in assets:
            storage.store().objects_delete(pipeline.hls_prefix(asset))
            OutboxMessage.objects.filter(args=[asset.pk]).delete()
        assets.delete()
        institution.delete()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("long")
    # Long enough that the transcode is still running when the test kills it,
    # however fast the machine (24 s finished in 7 s on a quiet 2-core CI run,
    # before a progress heartbeat was seen).
    return samples.lecture_clip(directory / "long.mp4", seconds=90, width=960, height=540)


def _asset(college, clip: Path) -> MediaAsset:
    asset = asset_stored(college.pk, clip)
    storage.store().objects_delete(pipeline.hls_prefix(asset))
    return asset


def _refreshed(asset: MediaAsset) -> MediaAsset:
    connection.close()  # never read a stale snapshot while the worker writes
    return MediaAsset.objects.get(pk=asset.pk)


def _output_keys(asset: MediaAsset) -> list[str]:
    # media/<n>/sources/ is institution n's sources; everything else under
    # media/<asset>/ is pipeline output.
    return [k for k in storage.store().object_keys(f"media/{asset.pk}/") if "/sources/" not in k]


def _orphan_ffmpegs() -> list[int]:
    orphans = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if cmdline.startswith(b"ffmpeg") and b"wanxue-media-" in cmdline and ppid == 1:
            orphans.append(int(entry.name))
    return orphans


def test_kill_9_of_the_pool_child_mid_transcode_ends_ready_exactly_once(
    worker: Worker, college, long_clip: Path
) -> None:
    """C1: redelivered (reject_on_worker_lost), taken over, ready once, attempts 2."""
    asset = _asset(college, long_clip)
    workspaces_before = set(Path(tempfile.gettempdir()).glob("wanxue-media-*"))
    services.asset_submit(asset)
    running = wait_until(
        lambda: (
            (a := _refreshed(asset)).status == AssetStatus.TRANSCODING
            and a.progress_percent >= 10
            and a
        ),
        60,
        what="the transcode to be under way",
    )
    child_pid = int(running.lease_holder.split(":")[1])
    os.kill(child_pid, signal.SIGKILL)
    final = wait_until(
        lambda: (a := _refreshed(asset)).status in {AssetStatus.READY, AssetStatus.FAILED} and a,
        300,
        what="the asset to finish",
    )
    assert (final.status, final.attempts) == (AssetStatus.READY, 2)
    events = AssetEvent.objects.filter(asset=asset)
    assert events.filter(to_status=AssetStatus.READY).count() == 1
    assert events.filter(code="takeover").count() == 1
    keys = _output_keys(asset)
    assert keys and {key.split("/")[2] for key in keys} == {asset.sha256}  # one HLS prefix
    assert f"{final.hls_prefix}master.m3u8" in keys
    assert _orphan_ffmpegs() == []  # PR_SET_PDEATHSIG took the old ffmpeg down
    # The killed child could not remove its workspace: that is what the
    # sweeper's workspaces_stale_remove is for. Remove ours here.
    for leftover in set(Path(tempfile.gettempdir()).glob("wanxue-media-*")) - workspaces_before:
        shutil.rmtree(leftover, ignore_errors=True)


def test_the_same_message_delivered_twice_gives_one_result(
    worker: Worker, college, clip_540p: Path
) -> None:
    """C9/C4: two copies at once (concurrency 2): one works, the other is a no-op."""
    asset = _asset(college, clip_540p)
    services.asset_submit(asset)
    app.send_task(services.TRANSCODE_TASK, args=[asset.pk])  # the duplicate
    final = wait_until(
        lambda: (a := _refreshed(asset)).status in {AssetStatus.READY, AssetStatus.FAILED} and a,
        90,
        what="the asset to finish",
    )
    assert (final.status, final.attempts) == (AssetStatus.READY, 1)
    assert AssetEvent.objects.filter(asset=asset, to_status=AssetStatus.READY).count() == 1
    wait_until(lambda: worker.log.read_bytes().count(b"succeeded in") >= 2, 30, what="both copies")


def test_minio_down_during_upload_retries_and_is_never_ready_with_missing_media(
    own_queue: str, college, own_minio: ThrowawayMinio, long_clip: Path, tmp_path: Path
) -> None:
    """U10: the task retries with backoff while storage is down; ready only
    once every object the master names is stored."""
    worker = Worker(
        own_queue, tmp_path / "worker-own-minio.log", env={"S3_ENDPOINT_URL": own_minio.url}
    )
    try:
        asset = _asset(college, long_clip)
        services.asset_submit(asset)
        wait_until(
            lambda: _refreshed(asset).status == AssetStatus.TRANSCODING,
            60,
            interval=0.05,
            what="the transcode to start",
        )
        own_minio.stop()
        # Down: the upload fails, the lease is released and Celery retries.
        wait_until(lambda: b"Retry in" in worker.log.read_bytes(), 120, what="a Celery retry")
        assert _refreshed(asset).status != AssetStatus.READY
        own_minio.start()
        final = wait_until(
            lambda: (
                (a := _refreshed(asset)).status in {AssetStatus.READY, AssetStatus.FAILED} and a
            ),
            120,
            what="the asset to finish",
        )
        assert final.status == AssetStatus.READY
        master = storage.store().object_get(f"{final.hls_prefix}master.m3u8").decode()
        stored = set(storage.store().object_keys(final.hls_prefix))
        for line in master.splitlines():
            if line.endswith("index.m3u8") and not line.startswith("#"):
                playlist_key = final.hls_prefix + line
                assert playlist_key in stored
                playlist = storage.store().object_get(playlist_key).decode()
                for segment in (x for x in playlist.splitlines() if x.endswith(".ts")):
                    assert playlist_key.rsplit("/", 1)[0] + "/" + segment in stored
    finally:
        worker.stop()


def test_a_pickle_message_is_refused_and_never_executed(
    worker: Worker, college, clip_small: Path
) -> None:
    """C14 against the real worker: accept_content is json only."""
    asset = _asset(college, clip_small)
    MediaAsset.objects.filter(pk=asset.pk).update(status=AssetStatus.QUEUED)
    app.send_task(services.TRANSCODE_TASK, args=[asset.pk], serializer="pickle")
    wait_until(
        lambda: b"application/x-python-serialize" in worker.log.read_bytes(),
        30,
        what="the worker to refuse the pickle message",
    )
    assert _refreshed(asset).attempts == 0
    assert not AssetEvent.objects.filter(asset=asset).exists()
