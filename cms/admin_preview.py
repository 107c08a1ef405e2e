"""The admin's "Preview on phone" screen: a signed API preview link and its QR code.

Reviewers scan the code with the mini program (or any phone camera) to see the
latest revision of a course, chapter or resource as learners would get it from
the API, drafts included, without an admin session on the phone. The link is
the one ``cms.api.preview`` signs: one revision, 15 minutes.
"""

from __future__ import annotations

from typing import Any

import segno
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets import Button
from wagtail.models import Page, Revision

from cms.api.preview import PREVIEW_TTL_SECONDS, preview_link, user_may_preview
from cms.models import ChapterPage, CoursePage, Resource

KINDS = {"page", "resource"}


def preview_url(kind: str, object_id: int) -> str:
    return reverse("cms_api_preview", args=[kind, object_id])


def preview_button(kind: str, object_id: int) -> Button:
    return Button(
        "Preview on phone", url=preview_url(kind, object_id), icon_name="mobile-alt", priority=90
    )


def page_preview_button(page: Page) -> Button | None:
    if page.specific_class not in (CoursePage, ChapterPage):
        return None
    return preview_button("page", page.pk)


def _latest_revision(kind: str, object_id: int) -> Revision | None:
    if kind == "page":
        page = Page.objects.filter(pk=object_id).specific().first()
        if not isinstance(page, CoursePage | ChapterPage):
            return None
        return page.latest_revision
    resource = Resource.objects.filter(pk=object_id).first()
    return resource.latest_revision if resource else None


class PreviewLinkView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "cms/admin/preview_link.html"
    page_title = "Preview on phone"
    header_icon = "mobile-alt"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        kind, object_id = kwargs["kind"], kwargs["object_id"]
        revision = _latest_revision(kind, object_id) if kind in KINDS else None
        # One answer for "missing" and "another college's": ids do not leak.
        if revision is None or not user_may_preview(request.user, revision):
            raise Http404("No revision you may preview.")
        self.revision = revision
        return super().get(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, str]]:
        return []

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        link = preview_link(self.request, revision=self.revision)
        qr = segno.make(link["url"], error="m")
        context.update(
            link=link,
            revision=self.revision,
            object_title=str(self.revision.object_str),
            ttl_minutes=PREVIEW_TTL_SECONDS // 60,
            # segno escapes nothing it is given: the URL is ours, built from a
            # signed token and our own host, so the SVG is safe to inline.
            qr_svg=mark_safe(qr.svg_inline(scale=6, dark="#1d1d1b")),
        )
        return context
