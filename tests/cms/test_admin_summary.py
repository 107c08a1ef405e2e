"""The dashboard tells editors how many of their college's resources are drafts."""

from __future__ import annotations

import pytest

from cms import services
from cms.models import ResourceType

pytestmark = pytest.mark.django_db


def test_dashboard_counts_only_the_editors_own_resources(
    college_a, college_b, editor_a, client_for
):
    for title, publish in (("甲校讲义一", True), ("甲校讲义二", False)):
        services.resource_create(
            institution=college_a, title=title, resource_type=ResourceType.DOCUMENT, publish=publish
        )
    for n in range(3):
        services.resource_create(
            institution=college_b, title=f"乙校讲义{n}", resource_type=ResourceType.DOCUMENT
        )

    response = client_for(editor_a).get("/admin/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "2 resources</a>" in body
    assert "· 1 draft</span>" in body
