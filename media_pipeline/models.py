"""Media assets: an uploaded source file and what the pipeline learns about it.

The transcoding state machine and renditions arrive with the video-pipeline
issue (#4); this is the part the content model and demo data need now.
"""

from django.db import models


def source_key(asset: "MediaAsset", filename: str) -> str:
    # The uploader's filename never becomes part of a storage key (RELIABILITY M12).
    return f"media/{asset.institution_id}/sources/{asset.sha256}.{asset.container}"


class MediaAsset(models.Model):
    institution = models.ForeignKey("cms.Institution", on_delete=models.PROTECT, related_name="+")
    source = models.FileField(upload_to=source_key, max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, unique=True)
    container = models.CharField(max_length=16)
    size_bytes = models.PositiveBigIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "media asset"

    def __str__(self) -> str:
        return self.original_filename or self.sha256[:12]
