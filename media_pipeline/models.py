"""Media assets: an uploaded source, its processing state and its renditions.

Status, lease and counters change only through media_pipeline/states.py,
which guards every transition at the database (a compare-and-set UPDATE or a
row lock), so a duplicate task delivery cannot move an asset twice.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models


def source_key(asset: MediaAsset, filename: str) -> str:
    # The uploader's filename never becomes part of a storage key (RELIABILITY M12).
    return f"media/{asset.institution_id}/sources/{asset.sha256}.{asset.container}"


class AssetStatus(models.TextChoices):
    PENDING = "pending", "Uploaded, not submitted"
    QUEUED = "queued", "Queued"
    PROBING = "probing", "Checking the file"
    TRANSCODING = "transcoding", "Transcoding"
    UPLOADING = "uploading", "Storing renditions"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


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

    # Processing (issue #4). Rows made before the pipeline existed, and the
    # demo loader's, start "pending": stored, but no job asked for yet.
    status = models.CharField(
        max_length=16, choices=AssetStatus.choices, default=AssetStatus.PENDING, db_index=True
    )
    failure_code = models.CharField(max_length=32, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress_percent = models.FloatField(default=0)
    eta_seconds = models.PositiveIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The execution currently working on the asset ("host:pid:token") and when
    # it last proved to be alive; empty when nobody is.
    lease_holder = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    has_audio = models.BooleanField(null=True, blank=True)
    ladder = models.CharField(max_length=32, blank=True)
    # media/<asset>/<source sha256>/ once ready; the master playlist is under it.
    hls_prefix = models.CharField(max_length=255, blank=True)
    thumbnail_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = "media asset"
        indexes = [models.Index(fields=["status", "queued_at"], name="media_asset_queue")]

    def __str__(self) -> str:
        return self.original_filename or self.sha256[:12]


class RenditionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    UPLOADED = "uploaded", "Stored"


class Rendition(models.Model):
    """One HLS rendition of an asset; "uploaded" ones are skipped on a retry."""

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="renditions")
    name = models.CharField(max_length=16)  # "360p", "audio"
    kind = models.CharField(max_length=8)  # "video" | "audio"
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    bandwidth = models.PositiveIntegerField(default=0)  # peak bits/s over segments
    average_bandwidth = models.PositiveIntegerField(default=0)
    codecs = models.CharField(max_length=64, blank=True)
    segment_count = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(default=0)
    playlist_key = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=16, choices=RenditionStatus.choices, default=RenditionStatus.PENDING
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "name"], name="media_rendition_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}/{self.name}"


class AssetEvent(models.Model):
    """Every state transition, written in the same transaction: the audit
    trail the admin shows, and what tests count ("ready exactly once")."""

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16)
    to_status = models.CharField(max_length=16)
    code = models.CharField(max_length=32, blank=True)
    message = models.CharField(max_length=500, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    holder = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.from_status} → {self.to_status}"


class OutboxMessage(models.Model):
    """A task to publish, committed with the change that needs it.

    Publishing happens on commit; if Redis is down then, the row stays unsent
    and the relay (media_pipeline/outbox.py) publishes it later, so a broker
    outage at commit loses no job (RELIABILITY.md C7).
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="media_outbox_unsent",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_name}{self.args}"


class UploadStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the upload"
    FINALIZING = "finalizing", "Checking the video"
    FINALIZED = "finalized", "Finalized"
    REFUSED = "refused", "Refused"


# A client may finalize this long after its upload URLs expired (slow links).
FINALIZE_GRACE = timedelta(hours=24)


class UploadSession(models.Model):
    """One attempt to upload a source straight to object storage.

    The client gets a presigned POST for ``uploads/<id>`` (one key per
    attempt) or part URLs; ``complete`` checks the object is whole, then a
    worker finalizes it: validates it with the same code as the transcode,
    and copies the bytes to the immutable, hash-named source key
    (pending → finalizing → finalized | refused).
    """

    id = models.UUIDField(primary_key=True)
    institution = models.ForeignKey("cms.Institution", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255, unique=True)
    original_filename = models.CharField(max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING
    )
    asset = models.ForeignKey(MediaAsset, null=True, blank=True, on_delete=models.SET_NULL)
    # Why finalizing refused the file (or, back to pending, why it stopped).
    failure_code = models.CharField(max_length=32, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"upload {self.id} ({self.status})"
