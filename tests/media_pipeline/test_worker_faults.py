"""RELIABILITY.md B1 C2, C3, C11, C12, C13: faults around a real Celery worker.

Real processes only: ``celery worker`` (prefork), a throwaway redis-server per
test (these tests kill it, restart it and cut its clients off, so never the
shared one), a throwaway MinIO for the module, the pytest PostgreSQL database
and ffmpeg. Each worker consumes a queue of its own and keeps its workspaces
in the test's own TMPDIR, so nothing here touches other sessions' workers,
files or objects. The tests wait on observable state (rows, Redis keys, log
lines, processes), never on fixed sleeps, and assert the end state and the
audit trail (AssetEvent).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from cms.models import Institution
from media_pipeline import outbox, services, storage
from media_pipeline.models import AssetEvent, AssetStatus, MediaAsset, OutboxMessage
from media_pipeline.states import lease_is_alive
from settings.celery import app
from tests.media_pipeline import samples
from tests.media_pipeline.factories import asset_stored
from tests.media_pipeline.test_worker import committed_database  # noqa: F401  (a fixture)
from tests.media_pipeline.worker import (
    ThrowawayMinio,
    ThrowawayRedis,
    Worker,
    celery_broker,
    process_alive,
    process_state,
    wait_until,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

FINISHED = {AssetStatus.READY, AssetStatus.FAILED}
# kombu's Redis ack emulation: a delivered, unacknowledged message is kept in
# this hash until it is acked, rejected or restored.
UNACKED = "unacked"


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue only this test's workers consume (a Celery retry or a restore
    goes back to the queue the message came from)."""
    name = f"transcode-faults-{uuid.uuid4().hex[:8]}"
    routes = app.conf.task_routes
    app.conf.update(task_routes={"media_pipeline.tasks.*": {"queue": name}})
    yield name
    app.conf.update(task_routes=routes)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """A redis-server of our own; this process publishes to it."""
    server = ThrowawayRedis(tmp_path / "redis")
    with celery_broker(server.url):
        yield server
    server.kill()


@pytest.fixture(scope="module")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayMinio]:
    """A MinIO of our own for the module: the shared bucket holds other
    sessions' outputs under the same asset ids, so "one HLS prefix" could only
    be asserted exactly here."""
    directory = tmp_path_factory.mktemp("minio")
    server = ThrowawayMinio(directory / "data", directory / "minio.log")
    default = settings.STORAGES["default"]
    storages = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "endpoint_url": server.url}},
    }
    with override_settings(S3_ENDPOINT_URL=server.url, STORAGES=storages):
        storage.store().prepare()
        yield server
    server.stop()


@pytest.fixture
def college(committed_database, django_db_blocker, minio) -> Iterator[Institution]:  # noqa: F811
    """Committed rows the worker can see, removed again afterwards (see
    test_worker.college for why this is not a transactional test)."""
    code = "worker-faults-college"
    with django_db_blocker.unblock():
        Institution.objects.filter(code=code).delete()
        institution = Institution.objects.create(
            code=code, name="故障测试学院", kind=Institution.Kind.PARTNER_COLLEGE
        )
        yield institution
        assets = MediaAsset.objects.filter(institution=institution)
        for asset in assets:
            storage.store().objects_delete(f"media/{asset.pk}/")
            OutboxMessage.objects.filter(args=[asset.pk]).delete()
        assets.delete()
        institution.delete()


@pytest.fixture(scope="module")
def clip_long(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Long enough that every kill below lands mid-transcode on any machine;
    # 360p keeps the ladder to one video rung, so a full run stays short.
    directory = tmp_path_factory.mktemp("faults-long")
    return samples.lecture_clip(directory / "long.mp4", seconds=90, width=640, height=360)


@pytest.fixture
def worker_env(broker: ThrowawayRedis, minio: ThrowawayMinio, tmp_path: Path) -> dict[str, str]:
    """Our Redis and MinIO, and a TMPDIR of our own: the workspaces a killed
    worker leaves behind, and its ffmpeg processes, are recognisably ours."""
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    return {"REDIS_URL": broker.url, "S3_ENDPOINT_URL": minio.url, "TMPDIR": str(workspaces)}


def _asset(college: Institution, clip: Path) -> MediaAsset:
    return asset_stored(college.pk, clip)


def _refreshed(asset: MediaAsset) -> MediaAsset:
    connection.close()  # never read a stale snapshot while the worker writes
    return MediaAsset.objects.get(pk=asset.pk)


def _finished(asset: MediaAsset, timeout: float = 240) -> MediaAsset:
    return wait_until(
        lambda: (a := _refreshed(asset)).status in FINISHED and a,
        timeout,
        what=f"asset {asset.pk} to finish",
    )


def _running(asset: MediaAsset) -> MediaAsset:
    """ffmpeg is under way: transcoding, and it has reported progress."""
    return wait_until(
        lambda: (
            (a := _refreshed(asset)).status == AssetStatus.TRANSCODING
            and a.progress_percent > 0
            and a
        ),
        120,
        interval=0.05,
        what=f"asset {asset.pk} to be transcoding",
    )


def _holder_pid(asset: MediaAsset) -> int:
    return int(asset.lease_holder.split(":")[1])


def _events(asset: MediaAsset, **filters: object) -> int:
    return AssetEvent.objects.filter(asset=asset, **filters).count()


def _output_prefixes(asset: MediaAsset) -> set[str]:
    """Distinct ``media/<asset>/<sha256>/`` prefixes that hold pipeline output."""
    keys = storage.store().object_keys(f"media/{asset.pk}/")
    return {"/".join(key.split("/")[:3]) + "/" for key in keys if "/sources/" not in key}


def _queued_asset_ids(client: redis.Redis, queue: str) -> list[int]:
    """The asset id of every transcode message waiting in ``queue``."""
    ids = []
    for raw in client.lrange(queue, 0, -1):
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        ids.append(int(args[0]))
    return ids


def _deliveries(worker: Worker, asset: MediaAsset) -> Counter[str]:
    """The task's own log line per delivery, by its ``redelivered`` flag."""
    marker = f"asset {asset.pk}: delivery (redelivered="
    return Counter(
        line.split(marker, 1)[1].split(")", 1)[0]
        for line in worker.text().splitlines()
        if marker in line
    )


def _received(worker: Worker) -> int:
    """Messages the worker took from the broker (started or prefetched)."""
    return sum(
        1
        for line in worker.text().splitlines()
        if "asset_transcode_task[" in line and line.endswith("] received")
    )


def _our_ffmpegs(workspaces: Path) -> list[int]:
    """ffmpeg processes working in this test's workspaces."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ffmpeg") and str(workspaces).encode() in cmdline:
                found.append(int(entry.name))
    return found


def _drained(client: redis.Redis, queue: str) -> bool:
    """Nothing waiting and nothing delivered-but-unacknowledged."""
    return client.llen(queue) == 0 and client.hlen(UNACKED) == 0


def test_poison_pill_fails_after_max_attempts_while_other_assets_keep_flowing(
    queue: str,
    broker: ThrowawayRedis,
    college: Institution,
    clip_long: Path,
    clip_small: Path,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """C2: the pool child dies (SIGKILL) every time the asset is transcoding.
    Each loss is a counted attempt; the delivery after the MEDIA_MAX_ATTEMPTS-th
    loss fails it as "worker lost ×3" and acks: four deliveries, no loop, and
    the asset queued behind it is transcoded in the meantime."""
    assert settings.MEDIA_MAX_ATTEMPTS == 3
    worker = Worker(queue, tmp_path / "worker.log", env=worker_env)
    try:
        pill = _asset(college, clip_long)
        behind = _asset(college, clip_small)
        services.asset_submit(pill)
        services.asset_submit(behind)
        killed: list[str] = []

        def kill_whenever_transcoding() -> MediaAsset | None:
            asset = _refreshed(pill)
            if asset.status == AssetStatus.TRANSCODING and asset.lease_holder not in killed:
                killed.append(asset.lease_holder)
                os.kill(_holder_pid(asset), signal.SIGKILL)
            return asset if asset.status in FINISHED else None

        final = wait_until(kill_whenever_transcoding, 240, interval=0.05, what="the pill to end")
        assert (final.status, final.failure_code) == (AssetStatus.FAILED, "worker_lost")
        assert (final.failure_message, final.attempts) == ("worker lost ×3", 3)
        assert len(killed) == 3
        assert _events(pill, code="takeover") == 2  # attempts 2 and 3 took over a lost one
        assert _events(pill, to_status=AssetStatus.FAILED) == 1
        assert _events(pill, to_status=AssetStatus.READY) == 0

        other = _finished(behind)
        assert (other.status, other.attempts) == (AssetStatus.READY, 1)
        # It did not wait for the pill to give up: a message requeued after a
        # lost worker goes to the back of the queue.
        assert other.finished_at is not None and final.finished_at is not None
        assert other.finished_at < final.finished_at

        wait_until(lambda: _drained(broker.client(), queue), 60, what="the queue to drain")
        assert _our_ffmpegs(Path(worker_env["TMPDIR"])) == []  # each died with its child
    finally:
        worker.stop()
    # One first delivery and three redeliveries, then the message was acked.
    assert _deliveries(worker, pill) == Counter({"False": 1, "True": 3})
    assert worker.text().count("exited with 'signal 9 (SIGKILL)'") == 3


def _short_visibility(*, restore_every: int) -> dict[str, object]:
    """Celery configuration with a 10 s visibility timeout (production: 3 h)
    and kombu's sweep for unacknowledged messages older than that at start and
    every ``restore_every`` seconds (kombu's default: 100)."""
    options: dict[str, object] = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS}
    options.update(
        visibility_timeout=10, unacked_restore_interval=restore_every, unacked_restore_throttle=1
    )
    return {"broker_transport_options": options}


def test_kill_9_of_the_whole_worker_loses_neither_the_running_nor_the_prefetched_task(
    queue: str,
    broker: ThrowawayRedis,
    college: Institution,
    clip_long: Path,
    clip_small: Path,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """C3: kill -9 of the main process and its pool child, one task running
    and one prefetched. Both messages sit in kombu's unacked hash; a new
    worker restores them once they are older than the visibility timeout
    (10 s here) and both assets end ready exactly once."""
    # The first worker's own sweep never runs before the kill (it would put
    # back its own running message); the second one sweeps every second.
    first = Worker(
        queue,
        tmp_path / "first.log",
        prefetch=2,
        env=worker_env,
        conf=_short_visibility(restore_every=3600),
    )
    try:
        running = _asset(college, clip_long)
        prefetched = _asset(college, clip_small)
        services.asset_submit(running)
        services.asset_submit(prefetched)
        holder = _running(running).lease_holder
        client = broker.client()
        # Both are in the worker: one running, one prefetched (received, not started).
        wait_until(lambda: _received(first) == 2, 30, what="the second message to be prefetched")
        assert _deliveries(first, prefetched) == Counter()
        assert (client.llen(queue), client.hlen(UNACKED)) == (0, 2)
        processes = [first.pid, *first.pool_pids()]
        assert _holder_pid(_refreshed(running)) in processes
    finally:
        first.kill()
    wait_until(
        lambda: not any(process_alive(pid) for pid in processes), 10, what="the worker to die"
    )
    workspaces = Path(worker_env["TMPDIR"])
    wait_until(lambda: not _our_ffmpegs(workspaces), 10, what="ffmpeg to die with its parent")
    assert _refreshed(prefetched).status == AssetStatus.QUEUED

    second = Worker(
        queue, tmp_path / "second.log", env=worker_env, conf=_short_visibility(restore_every=1)
    )
    try:
        done = _finished(running), _finished(prefetched)
        assert [(a.status, a.attempts) for a in done] == [
            (AssetStatus.READY, 2),  # the killed attempt, then the takeover
            (AssetStatus.READY, 1),
        ]
        for asset in done:
            assert _events(asset, to_status=AssetStatus.READY) == 1
            assert _output_prefixes(asset) == {asset.hls_prefix}
            assert f"{asset.hls_prefix}master.m3u8" in storage.store().object_keys(asset.hls_prefix)
        assert _events(running, code="takeover") == 1
        assert _events(running, holder=holder, to_status=AssetStatus.TRANSCODING) == 1
        assert _events(prefetched, code="takeover") == 0
        # Both came back from the unacked hash (kombu marks restored messages).
        assert _deliveries(second, running)["True"] >= 1
        assert _deliveries(second, prefetched)["True"] >= 1
        wait_until(lambda: _drained(client, queue), 60, what="the queue to drain")
    finally:
        second.stop()


def test_sigterm_mid_transcode_finishes_it_and_leaves_the_prefetched_one_for_the_next_worker(
    queue: str,
    broker: ThrowawayRedis,
    college: Institution,
    clip_long: Path,
    clip_small: Path,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """C11: a deploy's SIGTERM is Celery's warm shutdown. The running
    transcode finishes and is acked before the worker exits 0; the message it
    had prefetched but not started goes back to Redis at the exit and the
    next worker runs it. Nothing is lost and nothing runs twice."""
    first = Worker(queue, tmp_path / "first.log", prefetch=2, env=worker_env)
    try:
        running = _asset(college, clip_long)
        prefetched = _asset(college, clip_small)
        services.asset_submit(running)
        services.asset_submit(prefetched)
        _running(running)
        wait_until(lambda: _received(first) == 2, 30, what="the second message to be prefetched")
        terminated_at = timezone.now()
        first.process.send_signal(signal.SIGTERM)
        wait_until(lambda: "Warm shutdown" in first.text(), 30, what="the warm shutdown")
        wait_until(lambda: first.process.poll() is not None, 240, what="the worker to exit")
    finally:
        first.stop()
    assert first.process.returncode == 0
    finished = _refreshed(running)
    assert (finished.status, finished.attempts) == (AssetStatus.READY, 1)
    ready = AssetEvent.objects.get(asset=running, to_status=AssetStatus.READY)
    assert ready.at > terminated_at  # finished after the SIGTERM, not before it
    assert _deliveries(first, running) == Counter({"False": 1})
    assert _deliveries(first, prefetched) == Counter()
    assert _refreshed(prefetched).status == AssetStatus.QUEUED
    client = broker.client()
    assert (client.llen(queue), client.hlen(UNACKED)) == (1, 0)
    assert _queued_asset_ids(client, queue) == [prefetched.pk]

    second = Worker(queue, tmp_path / "second.log", env=worker_env)
    try:
        after = _finished(prefetched)
        wait_until(lambda: _drained(client, queue), 60, what="the queue to drain")
    finally:
        second.stop()
    assert (after.status, after.attempts) == (AssetStatus.READY, 1)
    assert _deliveries(second, prefetched) == Counter({"True": 1})
    assert _deliveries(second, running) == Counter()
    for asset in (finished, after):
        assert _events(asset, to_status=AssetStatus.READY) == 1
        assert _events(asset, code="takeover") == 0
        assert _output_prefixes(asset) == {asset.hls_prefix}


def test_broker_connection_loss_cancels_the_running_task_and_redelivers_it_once(
    queue: str,
    broker: ThrowawayRedis,
    college: Institution,
    clip_long: Path,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """C12: CLIENT KILL of the worker's Redis connections mid-transcode. With
    worker_cancel_long_running_tasks_on_connection_loss the pool child running
    it is terminated and the message requeued; after the reconnect it is
    delivered once more and taken over. A second pool process is free the
    whole time, so a copy running next to the cancelled one would show."""
    assert settings.CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS is True
    worker = Worker(queue, tmp_path / "worker.log", concurrency=2, env=worker_env)
    try:
        asset = _asset(college, clip_long)
        services.asset_submit(asset)
        cancelled = _running(asset)
        killed = broker.client().client_kill_filter(_type="normal")
        assert killed >= 1
        final = _finished(asset)
        assert "Connection to broker lost" in worker.text()
        assert "Terminating it instead." in worker.text()
        wait_until(lambda: _drained(broker.client(), queue), 60, what="the queue to drain")
        assert _our_ffmpegs(Path(worker_env["TMPDIR"])) == []
    finally:
        worker.stop()
    assert (final.status, final.attempts) == (AssetStatus.READY, 2)
    assert _events(asset, to_status=AssetStatus.READY) == 1
    assert _events(asset, code="takeover") == 1
    # The cancelled execution never moved the asset again.
    takeover = AssetEvent.objects.get(asset=asset, code="takeover")
    assert not AssetEvent.objects.filter(
        asset=asset, holder=cancelled.lease_holder, at__gt=takeover.at
    ).exists()
    assert not process_alive(_holder_pid(cancelled))
    assert _output_prefixes(final) == {final.hls_prefix}
    assert _deliveries(worker, asset) == Counter({"False": 1, "True": 1})


def _pending_assets(college: Institution, count: int, tag: str) -> list[MediaAsset]:
    """Stored-looking assets (no bytes: nothing here runs them)."""
    return [
        MediaAsset.objects.create(
            institution=college,
            source=f"media/{college.pk}/sources/{tag}-{number}.mp4",
            sha256=uuid.uuid4().hex * 2,
            container="mp4",
            size_bytes=1,
        )
        for number in range(count)
    ]


def test_queued_messages_survive_kill_9_of_redis_with_aof_and_the_outbox_covers_the_rest(
    queue: str, college: Institution, tmp_path: Path
) -> None:
    """C13: 100 transcodes queued on a Redis with appendonly yes (fsync every
    second), kill -9 of redis-server right after the last publish, restart on
    the same directory: all 100 are still queued, each once. Jobs saved while
    it was down are unsent outbox rows, and the relay publishes exactly those.

    A killed process loses nothing Redis had written (the kernel still has the
    AOF's pages); ``everysec`` can only lose the last second on a machine crash.
    """
    server = ThrowawayRedis(tmp_path / "redis", appendonly=True)
    try:
        with celery_broker(server.url):
            queued = _pending_assets(college, 100, "queued")
            for asset in queued:
                assert services.asset_submit(asset)  # published on commit
            assert _outbox_unsent(queued) == 0
            assert server.client().llen(queue) == 100
            server.kill()

            late = _pending_assets(college, 10, "late")
            for asset in late:
                assert services.asset_submit(asset)  # the save succeeds; publish fails fast
            assert _outbox_unsent(late) == 10
            server.start()  # same port, same data directory
            assert "DB loaded from append only file" in server.log().split("# Configuration")[-1]
            client = server.client()
            assert sorted(_queued_asset_ids(client, queue)) == sorted(a.pk for a in queued)

            assert outbox.outbox_relay(grace_seconds=0) == 10
            assert outbox.outbox_relay(grace_seconds=0) == 0
            everything = [*queued, *late]
            assert sorted(_queued_asset_ids(client, queue)) == sorted(a.pk for a in everything)
            assert _outbox_unsent(everything) == 0
            assert {_refreshed(a).status for a in everything} == {AssetStatus.QUEUED}
    finally:
        server.kill()


def _outbox_unsent(assets: list[MediaAsset]) -> int:
    return OutboxMessage.objects.filter(
        sent_at__isnull=True, args__in=[[asset.pk] for asset in assets]
    ).count()


def test_a_dying_or_zombie_lease_holder_on_this_host_is_not_alive() -> None:
    """The fix C12 needed, deterministically: a pool child that got SIGTERM is
    dying or a zombie until its parent reaps it; its lease must not block the
    redelivered message (states.lease_is_alive)."""
    now = timezone.now()

    def holder_alive(pid: int) -> bool:
        holder = f"{socket.gethostname()}:{pid}:test"
        return lease_is_alive(MediaAsset(lease_holder=holder, heartbeat_at=now), now=now)

    child = subprocess.Popen(["sleep", "60"])
    try:
        assert holder_alive(child.pid)
        os.kill(child.pid, signal.SIGSTOP)  # cannot act on what comes next yet
        wait_until(lambda: process_state(child.pid) == "T", 10, what="the child to stop")
        os.kill(child.pid, signal.SIGTERM)
        assert not holder_alive(child.pid)  # pending SIGTERM: on its way out
        os.kill(child.pid, signal.SIGCONT)
        wait_until(lambda: process_state(child.pid) == "Z", 10, what="a zombie")
        assert not holder_alive(child.pid)  # dead, not reaped yet
    finally:
        child.kill()
        child.wait()
    assert not holder_alive(child.pid)  # reaped
