"""The admin dashboard's summary of the resources a user works on."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from wagtail.admin.site_summary import SummaryItem

from cms import tenancy


class ResourcesSummaryItem(SummaryItem):
    """ "N resources · M drafts" for the user's own institution(s): editors see
    at a glance how much of their college's material is still unpublished."""

    order = 150
    template_name = "cms/admin/site_summary_resources.html"

    def get_context_data(self, parent_context: Any) -> dict[str, Any]:
        counts = tenancy.resources_editable_by(self.request.user).aggregate(
            total=Count("pk"), drafts=Count("pk", filter=Q(live=False))
        )
        return {"total": counts["total"], "drafts": counts["drafts"]}

    def is_shown(self) -> bool:
        return self.request.user.has_perm("cms.change_resource")
