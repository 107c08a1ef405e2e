"""The asset state machine: the only code that changes an asset's status.

    pending ─submit→ queued ─claim→ probing → transcoding → uploading → ready
                       ↑                  (any of these) → failed(code, message)
                       └──────── retry / sweeper ───────────┘

Every change is a guarded UPDATE (compare-and-set on the expected status
and, for a running job, on the lease holder) or runs under ``SELECT … FOR
UPDATE``, and writes an :class:`AssetEvent` in the same transaction. A second
copy of a task therefore finds nothing to do instead of doing it twice
(RELIABILITY.md C4, C9), and a copy that lost its lease (cancel, sweeper,
takeover) cannot move the asset any more.
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from media_pipeline.models import AssetEvent, AssetStatus, MediaAsset

ACTIVE = frozenset({AssetStatus.PROBING, AssetStatus.TRANSCODING, AssetStatus.UPLOADING})
ALLOWED: dict[str, frozenset[str]] = {
    AssetStatus.PENDING: frozenset({AssetStatus.QUEUED, AssetStatus.FAILED}),
    AssetStatus.QUEUED: frozenset({AssetStatus.PROBING, AssetStatus.FAILED}),
    # Active states may also go back to the queue: the sweeper's reset of a
    # job whose worker vanished (C15).
    AssetStatus.PROBING: frozenset(
        {AssetStatus.TRANSCODING, AssetStatus.FAILED, AssetStatus.QUEUED}
    ),
    AssetStatus.TRANSCODING: frozenset(
        {AssetStatus.UPLOADING, AssetStatus.FAILED, AssetStatus.QUEUED}
    ),
    AssetStatus.UPLOADING: frozenset({AssetStatus.READY, AssetStatus.FAILED, AssetStatus.QUEUED}),
    # Back to the queue: an editor's retry, the sweeper, or a new ladder.
    AssetStatus.FAILED: frozenset({AssetStatus.QUEUED}),
    AssetStatus.READY: frozenset({AssetStatus.QUEUED}),
}


class LeaseLost(Exception):
    """This execution no longer owns the asset (cancelled, swept, taken over)."""


@dataclass(frozen=True)
class Claim:
    asset_id: int
    holder: str
    attempt: int
    took_over: bool  # a previous execution died mid-work


def holder_new() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _sources(to_status: str) -> list[str]:
    return [status for status, targets in ALLOWED.items() if to_status in targets]


def _event(asset_id: int, from_status: str, to_status: str, **details: Any) -> None:
    AssetEvent.objects.create(
        asset_id=asset_id, from_status=from_status, to_status=to_status, **details
    )


def asset_transition(
    asset_id: int,
    *,
    to: str,
    expected: Iterable[str] | None = None,
    holder: str | None = None,
    code: str = "",
    message: str = "",
    **fields: Any,
) -> bool:
    """Move the asset to ``to`` if it is in an allowed (and ``expected``)
    status and, when ``holder`` is given, still leased to it. Returns whether
    it moved; False means someone else got there first (a logged no-op)."""
    allowed = set(_sources(to))
    if expected is not None:
        allowed &= set(expected)
    now = timezone.now()
    changes: dict[str, Any] = {"status": to, **fields}
    if to in ACTIVE:
        changes.setdefault("heartbeat_at", now)
    if to == AssetStatus.FAILED:
        changes.update(
            failure_code=code, failure_message=message[:500], finished_at=now, lease_holder=""
        )
        changes.setdefault("eta_seconds", None)
    if to == AssetStatus.READY:
        changes.update(
            progress_percent=100.0,
            eta_seconds=None,
            finished_at=now,
            lease_holder="",
            failure_code="",
            failure_message="",
        )
    with transaction.atomic():
        # The row lock orders us against a concurrent claim/cancel; the status
        # (and holder) filter is the compare-and-set itself.
        rows = MediaAsset.objects.select_for_update().filter(pk=asset_id, status__in=allowed)
        if holder is not None:
            rows = rows.filter(lease_holder=holder)
        current = rows.values_list("status", "attempts").first()
        if current is None:
            return False
        rows.update(**changes)
        _event(
            asset_id,
            current[0],
            to,
            code=code,
            message=message[:500],
            attempt=current[1],
            holder=holder or "",
        )
    return True


def lease_is_alive(asset: MediaAsset, *, now: Any = None) -> bool:
    """Whether another execution is plausibly still working on the asset.

    On the same host we ask the kernel (a pool child killed with -9 is dead at
    once, so its redelivered message can take over immediately, C1); across
    hosts a heartbeat newer than MEDIA_LEASE_SECONDS counts as alive.
    """
    if not asset.lease_holder or asset.heartbeat_at is None:
        return False
    now = now or timezone.now()
    if now - asset.heartbeat_at > timedelta(seconds=settings.MEDIA_LEASE_SECONDS):
        return False
    host, _, rest = asset.lease_holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        # Prefork runs one task per child at a time: if we are claiming, our
        # own earlier execution is over.
        return False
    return _process_running(pid)


# /proc/<pid>/stat flag of a task in do_exit(); pending signals that end a
# prefork pool child (its SIGTERM is the default action, Celery's cancel).
_PF_EXITING = 0x4
_FATAL_PENDING = (1 << (signal.SIGKILL - 1)) | (1 << (signal.SIGTERM - 1))


def _process_running(pid: int) -> bool:
    """Whether ``pid`` exists and is not on its way out.

    Dying counts as dead (RELIABILITY.md C12, tests/media_pipeline/
    test_worker_faults.py): on a broker connection loss Celery sends SIGTERM
    to the pool child running the task, and kombu has already put the message
    back, so the redelivery can reach another pool child within milliseconds,
    while the cancelled one is still exiting or is a zombie the worker's main
    process has not reaped yet (it is busy reconnecting). ``os.kill(pid, 0)``
    succeeds on both, so the redelivery was dropped as a duplicate and the
    asset stayed "transcoding" with nobody working on it. Calling a dying
    holder dead is safe: it can no longer heartbeat or move the asset.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs here: existence is all we can know
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, …
    if fields[0] in {"Z", "X"} or int(fields[6]) & _PF_EXITING:
        return False
    pending = 0
    for line in status.splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split()[1], 16)
    return not pending & _FATAL_PENDING


def asset_claim(asset_id: int, holder: str) -> Claim | None:
    """Take the asset for this execution, or return None if there is nothing
    to do: deleted (C8), already finished, not submitted, or being worked on by
    a live execution (a duplicate delivery, C9). An execution that died
    mid-work is taken over; the MEDIA_MAX_ATTEMPTS-th loss fails the asset."""
    now = timezone.now()
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None or asset.status not in {AssetStatus.QUEUED, *ACTIVE}:
            return None
        if asset.status in ACTIVE and lease_is_alive(asset, now=now):
            return None
        took_over = asset.status in ACTIVE and bool(asset.lease_holder)
        if took_over and asset.attempts >= settings.MEDIA_MAX_ATTEMPTS:
            message = f"worker lost ×{asset.attempts}"
            MediaAsset.objects.filter(pk=asset_id).update(
                status=AssetStatus.FAILED,
                failure_code="worker_lost",
                failure_message=message,
                finished_at=now,
                lease_holder="",
                eta_seconds=None,
            )
            _event(
                asset_id,
                asset.status,
                AssetStatus.FAILED,
                code="worker_lost",
                message=message,
                attempt=asset.attempts,
                holder=holder,
            )
            return None
        attempt = asset.attempts + 1
        MediaAsset.objects.filter(pk=asset_id).update(
            status=AssetStatus.PROBING,
            attempts=attempt,
            lease_holder=holder,
            heartbeat_at=now,
            started_at=now,
            progress_percent=0,
            eta_seconds=None,
        )
        _event(
            asset_id,
            asset.status,
            AssetStatus.PROBING,
            code="takeover" if took_over else "",
            attempt=attempt,
            holder=holder,
        )
    return Claim(asset_id=asset_id, holder=holder, attempt=attempt, took_over=took_over)


def asset_heartbeat(
    claim: Claim, *, progress_percent: float | None = None, eta_seconds: float | None = None
) -> None:
    """Prove the lease is alive and report progress; raise LeaseLost if it is not ours."""
    changes: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if progress_percent is not None:
        changes["progress_percent"] = progress_percent
        changes["eta_seconds"] = None if eta_seconds is None else int(eta_seconds)
    updated = MediaAsset.objects.filter(
        pk=claim.asset_id, lease_holder=claim.holder, status__in=ACTIVE
    ).update(**changes)
    if not updated:
        raise LeaseLost(f"asset {claim.asset_id} is no longer held by {claim.holder}")


def asset_release(claim: Claim) -> None:
    """Give the lease back without changing status (before a Celery retry), so
    the retry is a fresh claim rather than a takeover of a "lost" worker."""
    MediaAsset.objects.filter(pk=claim.asset_id, lease_holder=claim.holder).update(lease_holder="")


def asset_requeue(asset_id: int, *, expected: Iterable[str], code: str = "") -> bool:
    """Back to the queue (retry, sweeper); the caller enqueues the task."""
    return asset_transition(
        asset_id,
        to=AssetStatus.QUEUED,
        expected=expected,
        code=code,
        queued_at=timezone.now(),
        lease_holder="",
        progress_percent=0,
        eta_seconds=None,
        failure_code="",
        failure_message="",
        finished_at=None,
    )
