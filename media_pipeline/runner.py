"""Running ffmpeg/ffprobe on untrusted input: contained, bounded, killable.

ffmpeg-python's own ``run`` has no timeout (ffmpeg-python#308), so argv is
built elsewhere (media_pipeline/ffmpeg.py) and run here with:

- its own session/process group, so a timeout or a Celery soft time limit
  kills ffmpeg and anything it spawned (``os.killpg``), never just the leader;
- rlimits on address space, CPU seconds and bytes per file, plus ``nice``;
- a poll loop that enforces a quota on the whole output directory (``-fs``
  does not bound the HLS muxer's many files) and feeds progress back;
- stdin closed and stdout/stderr in files, so a chatty or stalled child can
  never block on a full pipe.
"""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from media_pipeline.errors import MediaFailed

POLL_SECONDS = 0.25
STDERR_TAIL_BYTES = 4000
# How ffmpeg reports a memory or file-size rlimit: allocation failures in its
# own words, the dynamic loader failing to map a library, or the encoder
# failing to open (x264 allocates its lookahead there; our parameters are fixed,
# so an open failure in production means memory).
_RESOURCE_MARKERS = (
    "Cannot allocate memory",
    "failed to map segment",
    "malloc",
    "bad_alloc",
    "Error while opening encoder",
    "File too large",
)
_RESOURCE_SIGNALS = {
    signal.SIGKILL,
    signal.SIGSEGV,
    signal.SIGBUS,
    signal.SIGABRT,
    signal.SIGXCPU,
    signal.SIGXFSZ,
}


@dataclass(frozen=True)
class RunLimits:
    timeout_seconds: float
    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    file_bytes: int | None = None
    output_bytes: int | None = None
    niceness: int = 0


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    cpu_seconds: float


PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def _preexec(limits: RunLimits) -> Callable[[], None]:
    def apply() -> None:
        # Runs in the child between fork and exec: only async-signal-safe work.
        # If the Celery child running us is SIGKILLed (OOM killer, hard time
        # limit, kill -9) nobody is left to killpg; the kernel sends ffmpeg
        # SIGKILL instead of leaving an orphan transcoding for an hour.
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if limits.memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        if limits.cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        if limits.file_bytes:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        if limits.niceness:
            os.nice(limits.niceness)

    return apply


@contextmanager
def workspace(prefix: str = "wanxue-media-") -> Iterator[Path]:
    """A private (0700) temp directory that is gone afterwards, whatever happens."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def workspaces_stale_remove(older_than_seconds: float, prefix: str = "wanxue-media-") -> int:
    """Remove workspaces a killed worker could not clean (the sweeper calls this)."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def directory_bytes(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except FileNotFoundError:  # ffmpeg renames temp files as it goes
            continue
    return total


def _over_quota(limits: RunLimits, output_dir: Path | None) -> bool:
    return bool(
        limits.output_bytes
        and output_dir is not None
        and directory_bytes(output_dir) > limits.output_bytes
    )


def process_group_kill(pgid: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    argv: Sequence[str],
    *,
    limits: RunLimits,
    workdir: Path,
    output_dir: Path | None = None,
    on_poll: Callable[[], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunResult:
    """Run ``argv`` to completion or raise :class:`MediaFailed`.

    ``on_poll`` is called every poll interval (progress, heartbeats); whatever
    it raises propagates after the process group has been killed.
    """
    stdout_path = workdir / f".{Path(argv[0]).name}.stdout"
    stderr_path = workdir / f".{Path(argv[0]).name}.stderr"
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=workdir,
            start_new_session=True,
            preexec_fn=_preexec(limits),
            close_fds=True,
        )
    pgid = process.pid  # start_new_session: the child leads its own group
    if on_start is not None:
        on_start(pgid)
    try:
        while process.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed > limits.timeout_seconds:
                process_group_kill(pgid)
                process.wait()
                raise MediaFailed(
                    "timeout", f"Processing took longer than {limits.timeout_seconds:.0f} s."
                )
            if _over_quota(limits, output_dir):
                process_group_kill(pgid)
                process.wait()
                raise MediaFailed(
                    "output_too_large", f"The output grew beyond {limits.output_bytes} bytes."
                )
            if on_poll is not None:
                on_poll()
            time.sleep(POLL_SECONDS)
    finally:
        # Any exit path with the child alive (a Celery SoftTimeLimitExceeded
        # raised in sleep(), an on_poll error) still takes the group down.
        if process.poll() is None:
            process_group_kill(pgid)
            process.wait()
        else:
            process_group_kill(pgid)  # stragglers the leader left behind
    if _over_quota(limits, output_dir):  # a fast run can finish between two polls
        raise MediaFailed(
            "output_too_large", f"The output grew beyond {limits.output_bytes} bytes."
        )
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stderr_text = stderr_path.read_bytes()[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")
    result = RunResult(
        returncode=process.returncode,
        stdout=stdout_path.read_text("utf-8", "replace"),
        stderr=stderr_text,
        wall_seconds=time.monotonic() - started,
        cpu_seconds=(usage_after.ru_utime + usage_after.ru_stime)
        - (usage_before.ru_utime + usage_before.ru_stime),
    )
    stdout_path.unlink(missing_ok=True)
    stderr_path.unlink(missing_ok=True)
    return result


def failure_for(result: RunResult) -> MediaFailed:
    """Classify a non-zero exit: a resource limit, or ffmpeg's own error."""
    killed_by = -result.returncode if result.returncode < 0 else None
    if (killed_by is not None and killed_by in _RESOURCE_SIGNALS) or any(
        marker in result.stderr for marker in _RESOURCE_MARKERS
    ):
        return MediaFailed("resources", "Processing exceeded its memory, CPU or disk limit.")
    last_line = result.stderr.strip().splitlines()[-1:] or ["no message"]
    return MediaFailed("ffmpeg_error", f"The video could not be processed ({last_line[0][:200]}).")
