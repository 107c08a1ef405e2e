"""Assets for tests, stored for real in the configured storage (MinIO)."""

from __future__ import annotations

from pathlib import Path

from media_pipeline import services
from media_pipeline.models import MediaAsset


def asset_stored(institution_id: int, clip: Path, name: str = "lecture.mp4") -> MediaAsset:
    return services.asset_create(institution_id=institution_id, path=clip, original_filename=name)
