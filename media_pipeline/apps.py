from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _store_prepare(**kwargs: Any) -> None:
    # `migrate` is the one deploy step every environment runs (CI's fresh
    # MinIO included), so the private media bucket (or the quick start's
    # directories) exists before any upload.
    from media_pipeline.storage import store

    store().prepare()


class MediaPipelineConfig(AppConfig):
    name = "media_pipeline"
    verbose_name = "Media pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_store_prepare, sender=self)
