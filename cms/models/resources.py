"""Learning resources: reusable entities that chapters reference in order.

A resource is a snippet with drafts, revisions, locking, moderation workflow
and preview, so ~15,000 of them stay out of the page tree and one college's
resource can be reused in another college's course without copying.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    PreviewableMixin,
    RevisionMixin,
    WorkflowMixin,
)
from wagtail.search import index

from .institutions import Institution


class ResourceType(models.TextChoices):
    VIDEO = "video", "视频"
    DOCUMENT = "document", "文档"
    EXERCISE_SET = "exercise_set", "习题集"
    AUDIO = "audio", "音频"
    ARTICLE = "article", "图文"
    LINK = "link", "链接"


class ResourceForm(WagtailAdminModelForm):
    """Limits the owner to the editor's institutions and every other choice
    (media assets, documents) to what the editor may pick."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Imported here: cms.tenancy imports the models.
        from cms.tenancy import limit_form_choices

        limit_form_choices(self, self.for_user)
        owners = self.fields["institution"].queryset if "institution" in self.fields else None
        if owners is not None and self.instance._state.adding and owners.count() == 1:
            self.fields["institution"].initial = owners.get().pk

    def clean(self):
        cleaned = super().clean()
        from cms.tenancy import rich_text_references_check

        rich_text_references_check(self, self.for_user)
        # Saving a draft with a video still transcoding is fine; publishing is not.
        if "action-publish" in self.data and (asset := cleaned.get("media_asset")) is not None:
            reason = media_not_ready_reason(asset)
            if reason:
                self.add_error("media_asset", reason)
        return cleaned


def media_not_ready_reason(asset) -> str | None:
    """Why a resource using ``asset`` may not be published yet, or None."""
    from media_pipeline.selectors import asset_is_playable

    if asset_is_playable(asset):
        return None
    state = asset.get_status_display()
    if asset.status == "failed":
        return f"The video failed ({asset.failure_message or asset.failure_code}); fix it first."
    return f"The video is not playable yet ({state}). Save a draft and publish when it is ready."


class Resource(
    WorkflowMixin,
    DraftStateMixin,
    LockableMixin,
    RevisionMixin,
    PreviewableMixin,
    index.Indexed,
    models.Model,
):
    title = models.CharField("title", max_length=255)
    resource_type = models.CharField("type", max_length=20, choices=ResourceType.choices)
    summary = models.TextField("summary", blank=True)
    body = RichTextField("body", blank=True)
    knowledge_points = models.JSONField(
        "knowledge points", default=list, blank=True, help_text="A list of short topic names."
    )
    difficulty = models.PositiveSmallIntegerField(
        "difficulty", default=2, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    duration_seconds = models.PositiveIntegerField("duration (s)", null=True, blank=True)
    external_url = models.URLField("link URL", blank=True)
    document = models.ForeignKey(
        "wagtaildocs.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    media_asset = models.ForeignKey(
        "media_pipeline.MediaAsset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resources",
    )
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="resources",
        verbose_name="owning institution",
    )
    # A stable id given by a bulk import or the demo loader, so a re-run finds
    # the rows it made instead of adding them again. Null for editor-made rows.
    import_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # Indexed so the demo loader and later sync can find "their" rows cheaply.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    base_form_class = ResourceForm
    panels = [
        FieldPanel("title"),
        FieldPanel("resource_type"),
        FieldPanel("institution"),
        FieldPanel("summary"),
        FieldPanel("body"),
        MultiFieldPanel(
            [FieldPanel("knowledge_points"), FieldPanel("difficulty")], heading="learning"
        ),
        MultiFieldPanel(
            [
                FieldPanel("duration_seconds"),
                FieldPanel("external_url"),
                FieldPanel("document"),
                FieldPanel("media_asset"),
            ],
            heading="media",
        ),
    ]
    search_fields = [
        index.SearchField("title", boost=2),
        index.AutocompleteField("title"),
        index.SearchField("summary"),
        index.FilterField("institution"),
        index.FilterField("resource_type"),
        index.FilterField("live"),
    ]

    class Meta:
        ordering = ["pk"]
        verbose_name = "resource"
        indexes = [models.Index(fields=["institution", "live"], name="resource_institution_live")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        super().clean()
        if self.resource_type == ResourceType.LINK and not self.external_url:
            raise ValidationError({"external_url": "A link resource needs its URL."})
        if not isinstance(self.knowledge_points, list) or not all(
            isinstance(point, str) for point in self.knowledge_points
        ):
            raise ValidationError({"knowledge_points": "Give a list of topic names."})

    def publish(self, revision, *args, **kwargs):
        """Learners never get a resource whose video cannot play (issue #4):
        every publish path (admin, workflow, API, shell) comes through here."""
        content = revision.as_object()
        if content.media_asset_id is not None:
            reason = media_not_ready_reason(content.media_asset)
            if reason:
                raise ValidationError({"media_asset": reason})
        return super().publish(revision, *args, **kwargs)

    def get_preview_template(self, request, mode_name):
        return "cms/resource_preview.html"
