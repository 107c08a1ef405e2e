"""Institutions: the exam universities (主考院校) and partner colleges (助学单位).

An institution is the unit of tenancy: every editable object has an ``institution``
institution, and an institution's two groups (editors, reviewers) carry the
permissions its staff have. See ``cms/tenancy.py`` for how that is enforced.
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.search import index


class Institution(index.Indexed, models.Model):
    class Kind(models.TextChoices):
        EXAM_UNIVERSITY = "exam_university", "主考院校"
        PARTNER_COLLEGE = "partner_college", "助学单位"

    code = models.SlugField("code", max_length=32, unique=True)
    name = models.CharField("name", max_length=100, unique=True)
    kind = models.CharField("kind", max_length=20, choices=Kind.choices)
    editors_group = models.OneToOneField(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewers_group = models.OneToOneField(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The page under which this institution's courses live; page permissions
    # for its groups are granted on this subtree.
    root_page = models.OneToOneField(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Images and documents of this institution live in their own collection.
    collection = models.OneToOneField(
        "wagtailcore.Collection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # Storage for this college's lecture sources (RELIABILITY.md U11): a
    # college cannot fill the network's bucket for everyone else.
    media_quota_gib = models.PositiveIntegerField(
        "video storage quota (GiB)",
        null=True,
        blank=True,
        help_text="Empty: the network default (MEDIA_COLLEGE_QUOTA_GIB).",
    )

    panels = [
        FieldPanel("code"),
        FieldPanel("name"),
        FieldPanel("kind"),
        FieldPanel("media_quota_gib"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = "institution"

    def __str__(self) -> str:
        return self.name

    def media_quota_bytes(self) -> int:
        gib = self.media_quota_gib
        return int(settings.MEDIA_COLLEGE_QUOTA_GIB if gib is None else gib) * 1024**3
