"""Fixtures for the video pipeline: limits, generated samples, a workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from media_pipeline import storage
from media_pipeline.limits import MediaLimits, media_limits
from tests.media_pipeline import samples
from tests.media_pipeline.worker import ThrowawayMinio


@pytest.fixture
def limits(settings) -> MediaLimits:
    return media_limits()


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every B3 sample, generated once per run (about 2 s of ffmpeg)."""
    directory = tmp_path_factory.mktemp("hostile")
    samples.write_all(directory)
    return directory


@pytest.fixture(scope="session")
def clip_540p(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 7 s 960×540 lecture with a tone and hostile metadata tags."""
    directory = tmp_path_factory.mktemp("clips")
    return samples.lecture_clip(
        directory / "lecture.mp4",
        seconds=7,
        width=960,
        height=540,
        extra=("-metadata", "title=HOSTILE-TITLE", "-metadata", "comment=" + "X" * 50_000),
    )


@pytest.fixture(scope="session")
def clip_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("clips-small")
    return samples.lecture_clip(directory / "small.mp4", seconds=3)


@pytest.fixture
def own_minio(tmp_path: Path, settings) -> Iterator[ThrowawayMinio]:
    """A MinIO of our own, and this process's storage pointed at it."""
    minio = ThrowawayMinio(tmp_path / "minio-data", tmp_path / "minio.log")
    settings.S3_ENDPOINT_URL = minio.url
    storages = {**settings.STORAGES}
    storages["default"] = {
        **storages["default"],
        "OPTIONS": {**storages["default"]["OPTIONS"], "endpoint_url": minio.url},
    }
    settings.STORAGES = storages
    storage.store().prepare()
    yield minio
    minio.stop()
