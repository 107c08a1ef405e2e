"""A resource whose video is not playable yet cannot be published (issue #4
item 5); a draft can be saved at any time."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.test.utils.form_data import querydict_from_html

from cms import services
from cms.models import Resource, ResourceType
from media_pipeline.models import AssetStatus, MediaAsset

pytestmark = pytest.mark.django_db


def _asset(institution, status: str, **fields) -> MediaAsset:
    return MediaAsset.objects.create(
        institution=institution,
        source=f"media/{institution.pk}/sources/{status}.mp4",
        sha256=status.ljust(64, "0"),
        container="mp4",
        size_bytes=1000,
        status=status,
        **fields,
    )


@pytest.mark.parametrize("status", [AssetStatus.PENDING, AssetStatus.QUEUED, AssetStatus.FAILED])
def test_publishing_with_an_unplayable_video_is_refused(college_a, status):
    asset = _asset(college_a, status, failure_message="坏文件")

    with pytest.raises(ValidationError) as refused:
        services.resource_create(
            institution=college_a, title="未就绪的视频", resource_type=ResourceType.VIDEO,
            media_asset=asset,
        )  # fmt: skip

    assert "media_asset" in refused.value.message_dict
    assert not Resource.objects.filter(title="未就绪的视频", live=True).exists()


def test_publishing_with_a_ready_video_goes_through(college_a):
    asset = _asset(college_a, AssetStatus.READY, hls_prefix="media/x/y/")

    resource = services.resource_create(
        institution=college_a, title="就绪的视频", resource_type=ResourceType.VIDEO,
        media_asset=asset,
    )  # fmt: skip

    assert Resource.objects.get(pk=resource.pk).live


def _edit(client, resource: Resource, asset: MediaAsset, action: str):
    """The resource's own edit form as the browser posts it, with the video set."""
    url = reverse("wagtailsnippets_cms_resource:edit", args=[resource.pk])
    form = querydict_from_html(client.get(url).content.decode(), form_id="w-editor-form").dict()
    form["media_asset"] = str(asset.pk)
    if action:
        form[action] = action
    return client.post(url, form)


def test_the_editor_gets_the_reason_and_the_draft_is_kept(client_for, editor_a, college_a):
    asset = _asset(college_a, AssetStatus.QUEUED)
    resource = services.resource_create(
        institution=college_a, title="第三讲", resource_type=ResourceType.VIDEO, publish=False
    )
    client = client_for(editor_a)

    refused = _edit(client, resource, asset, "action-publish")
    saved = _edit(client, resource, asset, "")

    assert refused.status_code == 200
    assert "not playable yet" in refused.content.decode()
    assert saved.status_code == 302, saved.content.decode()[:2000]
    resource.refresh_from_db()
    assert not resource.live
    assert resource.latest_revision.as_object().media_asset_id == asset.pk
