"""Real Celery workers, a throwaway MinIO and Redis, started by the tests themselves.

The workers consume a queue unique to the test run (on the shared Redis or a
throwaway one), and use the pytest database; the MinIO and Redis servers run
on free ports with their own data directories, so stopping or killing them
never disturbs the shared servers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu.pools
import redis
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
# Celery configuration a worker started by Worker(conf=...) applies on top of
# the Django settings (JSON), e.g. a short visibility timeout for one test.
CONF_ENV = "WANXUE_TEST_CELERY_CONF"
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


def celery_worker_main() -> None:
    """``celery worker`` with the app's configuration plus CONF_ENV: for the
    settings that have no command-line option (broker transport options)."""
    from settings.celery import app

    app.conf.update(json.loads(os.environ.get(CONF_ENV, "{}")))
    app.worker_main(["worker", *sys.argv[1:]])


class Worker:
    def __init__(
        self,
        queue: str,
        log: Path,
        *,
        concurrency: int = 1,
        prefetch: int = 1,
        env: dict[str, str] | None = None,
        conf: dict[str, Any] | None = None,
    ) -> None:
        self.log = log
        if conf is None:
            command = [sys.executable, "-m", "celery", "-A", "settings.celery", "worker"]
        else:
            launcher = "from tests.media_pipeline.worker import celery_worker_main as m; m()"
            command = [sys.executable, "-c", launcher]
        self.process = subprocess.Popen(
            [
                *command,
                *("-Q", queue, "-c", str(concurrency), "--pool", "prefork"),
                *("--prefetch-multiplier", str(prefetch), "--without-gossip", "--without-mingle"),
                *("-n", f"{queue}@%h", "--loglevel", "INFO"),
            ],
            cwd=REPO,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "settings.test",
                "DATABASE_URL": test_database_url(),
                CONF_ENV: json.dumps(conf or {}),
                **(env or {}),
            },
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: b" ready." in log.read_bytes(), 60, what="the worker to start")

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pool_pids(self) -> list[int]:
        """The prefork pool children of the main process."""
        return [pid for pid, ppid in _processes() if ppid == self.process.pid]

    def kill(self) -> None:
        """kill -9 of the whole worker: the main process and its pool children
        at once (its own process group; ffmpeg has its own and dies by PDEATHSIG)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # our own group only
        self.process.wait()


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process we can see."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        yield int(entry.name), ppid


def process_state(pid: int) -> str | None:
    """The kernel's state letter for ``pid`` (R, S, T, Z…), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is running: a zombie (dead, not yet reaped) is not."""
    return process_state(pid) not in {None, "Z", "X"}


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


class ThrowawayRedis:
    """A redis-server of our own on a free port with its data in ``directory``:
    tests that kill, restart or cut off the broker never touch the shared one."""

    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.appendonly = appendonly
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        """Start (or restart on the same data directory: an AOF is loaded)."""
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--save", ""),
                *("--appendonly", "yes" if self.appendonly else "no"),
                *("--appendfsync", "everysec"),
                *("--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self._ping, 30, what="the throwaway redis-server")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=10)

    def log(self) -> str:
        return (self.directory / "redis.log").read_text(errors="replace")

    def _ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:  # refused, or still loading its AOF
            return False

    def kill(self) -> None:
        """kill -9: no shutdown save, no final fsync."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """This process's Celery publisher pointed at ``url`` (pools rebuilt lazily)."""
    from settings.celery import app

    def use(broker: str) -> None:
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # kombu also keeps producer pools per connection in a global registry;
        # without this, the old broker's entry would hand out the closed pool
        # ("Acquire on closed pool") once the previous URL is back.
        kombu.pools.reset()
        app.conf.broker_url = broker

    previous = app.conf.broker_url
    use(url)
    try:
        yield
    finally:
        use(previous)
