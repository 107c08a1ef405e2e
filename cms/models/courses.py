"""The page tree: home → one page per institution → courses → chapters.

Courses and chapters are Wagtail pages so they get the tree, revisions,
moderation workflows and preview for free. Each institution's subtree is the
scope of its groups' page permissions (``cms/tenancy.py``).
"""

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.api import APIField
from wagtail.fields import RichTextField
from wagtail.models import Orderable, Page
from wagtail.search import index

from .institutions import Institution


class OwnedPageForm(WagtailAdminPageForm):
    """Sets the owning institution from the page's place in the tree.

    The institution is never a form field: a course belongs to the institution whose
    subtree it is created in, so an editor cannot hand it to another college.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Imported here: cms.tenancy imports the models.
        from cms.tenancy import limit_form_choices

        # A chooser only offers the right resources; the field behind it would
        # accept any posted id, including another college's draft.
        limit_form_choices(self, self.for_user)

    def clean(self):
        cleaned_data = super().clean()
        from cms.tenancy import rich_text_references_check

        rich_text_references_check(self, self.for_user)
        parent = self.parent_page if self.instance._state.adding else self.instance.get_parent()
        institution_id = getattr(parent.specific, "institution_id", None)
        if institution_id is None:
            self.add_error(None, "This page must be created under an institution's page.")
        else:
            self.instance.institution_id = institution_id
        return cleaned_data


class OwnedPage(Page):
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="+", verbose_name="owning institution"
    )
    base_form_class = OwnedPageForm

    class Meta:
        abstract = True


class HomePage(Page):
    """The network's root page. Headless: front ends read the API, not HTML."""

    subpage_types = ["cms.CollegePage"]
    parent_page_types = ["wagtailcore.Page"]
    max_count = 1
    template = "cms/page.html"


class CollegePage(OwnedPage):
    """The root of one institution's subtree; created by load_catalog, not editors."""

    subpage_types = ["cms.CoursePage"]
    parent_page_types = ["cms.HomePage"]
    content_panels = [*Page.content_panels]
    template = "cms/page.html"


class CoursePage(OwnedPage):
    code = models.CharField("national course code", max_length=16, db_index=True)
    credits = models.PositiveSmallIntegerField("credits", default=0)
    is_public_course = models.BooleanField(
        "public course", default=False, help_text="公共课: shared by several majors' plans."
    )
    summary = models.TextField("summary", blank=True)
    syllabus = RichTextField("syllabus", blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("code"),
        FieldPanel("credits"),
        FieldPanel("is_public_course"),
        FieldPanel("summary"),
        FieldPanel("syllabus"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("code"),
        index.SearchField("summary"),
        index.FilterField("institution"),
    ]
    # Wagtail's API v2 (the baseline our own API is measured against) shows these.
    api_fields = [APIField("code"), APIField("credits"), APIField("summary")]
    subpage_types = ["cms.ChapterPage"]
    parent_page_types = ["cms.CollegePage"]
    template = "cms/page.html"

    class Meta:
        verbose_name = "course"


class ChapterPage(OwnedPage):
    summary = models.TextField("summary", blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        InlinePanel("chapter_resources", label="resources"),
    ]
    search_fields = [*Page.search_fields, index.SearchField("summary")]
    api_fields = [APIField("summary"), APIField("chapter_resources")]
    subpage_types: list[str] = []
    parent_page_types = ["cms.CoursePage"]
    template = "cms/page.html"

    class Meta:
        verbose_name = "chapter"


class ChapterResource(Orderable):
    """A chapter's reference to a resource, in order. Resources are shared, not
    copied: a chapter may reference another college's published resource."""

    chapter = ParentalKey(ChapterPage, on_delete=models.CASCADE, related_name="chapter_resources")
    # PROTECT: deleting a resource that chapters still use must fail loudly,
    # not silently empty other colleges' chapters.
    resource = models.ForeignKey("cms.Resource", on_delete=models.PROTECT, related_name="+")

    panels = [FieldPanel("resource")]
    api_fields = [APIField("resource_id")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["chapter", "resource"], name="unique_resource_per_chapter"
            )
        ]
