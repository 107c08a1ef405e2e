"""Real Celery workers and a throwaway MinIO, started by the tests themselves.

The workers consume a queue unique to the test run on the shared Redis, and
use the pytest database; the MinIO runs on a free port with its own data
directory, so stopping it never disturbs the shared servers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
MINIO_CANDIDATES = [Path.home() / ".cache/wanxue/go/bin/minio", Path("/usr/local/bin/minio")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_database_url() -> str:
    database = settings.DATABASES["default"]
    return (
        f"postgres://{database['USER']}:{database['PASSWORD']}@{database['HOST']}:"
        f"{database['PORT']}/{database['NAME']}"
    )


def wait_until(condition, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Worker:
    def __init__(
        self, queue: str, log: Path, *, concurrency: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "settings.celery", "worker"),
                *("-Q", queue, "-c", str(concurrency), "--pool", "prefork"),
                *("--prefetch-multiplier", "1", "--without-gossip", "--without-mingle"),
                *("-n", f"{queue}@%h", "--loglevel", "INFO"),
            ],
            cwd=REPO,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "settings.test",
                "DATABASE_URL": test_database_url(),
                **(env or {}),
            },
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: b" ready." in log.read_bytes(), 60, what="the worker to start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # our own group only
        self.process.wait()


class ThrowawayMinio:
    def __init__(self, data: Path, log: Path) -> None:
        binary = next((path for path in MINIO_CANDIDATES if path.exists()), None)
        found = binary or shutil.which("minio")
        assert found, "minio binary not found (scripts/services up minio builds it)"
        self.binary = str(found)
        self.data = data
        self.log = log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(self.binary, "server", str(self.data)),
                *("--address", f"127.0.0.1:{self.port}"),
                *("--console-address", f"127.0.0.1:{free_port()}"),
            ],
            env={
                **os.environ,
                "MINIO_ROOT_USER": settings.S3_ACCESS_KEY_ID,
                "MINIO_ROOT_PASSWORD": settings.S3_SECRET_ACCESS_KEY,
            },
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._live, 60, what="the throwaway MinIO")

    def _live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/minio/health/live", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
