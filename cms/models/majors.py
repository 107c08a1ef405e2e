"""Majors (专业) and their course plans (考试计划)."""

from django.db import models
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.models import Orderable, RevisionMixin
from wagtail.search import index

from .institutions import Institution


class Major(RevisionMixin, index.Indexed, ClusterableModel):
    class Level(models.TextChoices):
        UNDERGRADUATE = "本科", "本科"
        JUNIOR_COLLEGE = "专科", "专科"

    code = models.CharField("major code", max_length=16, unique=True)
    name = models.CharField("name", max_length=100)
    level = models.CharField("level", max_length=4, choices=Level.choices)
    # The exam university sets the plan, so it owns the major.
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="majors",
        limit_choices_to={"kind": Institution.Kind.EXAM_UNIVERSITY},
        verbose_name="exam university",
    )

    panels = [
        FieldPanel("code"),
        FieldPanel("name"),
        FieldPanel("level"),
        FieldPanel("institution"),
        InlinePanel("course_plan", label="course plan"),
    ]
    search_fields = [index.SearchField("name"), index.FilterField("code")]

    class Meta:
        ordering = ["code"]
        verbose_name = "major"

    def __str__(self) -> str:
        return f"{self.name}（{self.level}）"


class MajorCourse(Orderable):
    """One course in a major's plan, in plan order."""

    major = ParentalKey(Major, on_delete=models.CASCADE, related_name="course_plan")
    course = models.ForeignKey(
        "cms.CoursePage", on_delete=models.PROTECT, related_name="major_plans"
    )

    panels = [FieldPanel("course")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["major", "course"], name="unique_course_per_major")
        ]
