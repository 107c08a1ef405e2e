from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


def _bucket_ensure(**kwargs: Any) -> None:
    # `migrate` is the one deploy step every environment runs (CI's fresh
    # MinIO included), so the private media bucket exists before any upload.
    if settings.S3_BUCKET:
        from media_pipeline.storage import ensure_bucket, lifecycle_ensure

        ensure_bucket()
        lifecycle_ensure()


class MediaPipelineConfig(AppConfig):
    name = "media_pipeline"
    verbose_name = "Media pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_bucket_ensure, sender=self)
