"""Admin screens for lecture video: where each upload stands, and what to do.

Editors see their own college's media assets (network admins see all) with
the pipeline's state, progress, ETA and place in the queue; a failed asset
shows its reason and can be retried, a queued or running one cancelled. The
inspect page refreshes itself while a job is moving, and plays the video once
it is ready (hls.js on staff-only playlists, so editors check a video before
any resource using it is published). Every state change goes through
``media_pipeline.services`` (the state machine), never through a form.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import IndexView, InspectView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import Button
from wagtail.permission_policies.base import BasePermissionPolicy
from wagtail.permissions import register_permission_policy

from cms.models import Institution
from cms.tenancy import institution_ids_for_user, is_network_admin, media_assets_visible_to
from media_pipeline import selectors, services, storage
from media_pipeline.models import AssetStatus, MediaAsset
from media_pipeline.states import ACTIVE

# Uploads arrive through the upload screen and leave through the pipeline:
# nobody adds, edits or deletes an asset row by hand.
ACTIONS = frozenset({"view"})
MOVING = frozenset({AssetStatus.QUEUED, *ACTIVE})
REFRESH_SECONDS = 5
QUOTA_ROWS = 25  # the network's ~20 colleges, for a network admin


class CollegeStaffMayView(BasePermissionPolicy):
    def user_has_permission(self, user: Any, action: str) -> bool:
        return action in ACTIONS and (
            is_network_admin(user) or bool(institution_ids_for_user(user))
        )

    def users_with_any_permission(self, actions: Any) -> QuerySet[Any]:
        return get_user_model().objects.filter(is_active=True)


register_permission_policy(MediaAsset, CollegeStaffMayView(MediaAsset))


def _asset_for(request: HttpRequest, pk: Any) -> MediaAsset:
    # Another college's asset is simply not there (404), as everywhere else.
    return get_object_or_404(media_assets_visible_to(request.user), pk=pk)


class MediaIndexView(IndexView):
    def get_base_queryset(self) -> QuerySet[MediaAsset]:
        return media_assets_visible_to(self.request.user).select_related("institution")

    @cached_property
    def header_buttons(self) -> list[Button]:
        if not may_upload(self.request.user):
            return []
        return [Button("Upload video", url=reverse("media_assets:upload"), icon_name="upload")]


def may_upload(user: Any) -> bool:
    return is_network_admin(user) or bool(institution_ids_for_user(user, role="editor"))


class MediaUploadView(WagtailAdminTemplateMixin, TemplateView):
    """The resumable upload form; the work happens in media_upload.js and
    the /api/v1/uploads endpoints (the same gate as every other upload)."""

    template_name = "cms/admin/media_upload.html"
    page_title = "Upload video"
    header_icon = "upload"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not may_upload(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list[dict[str, str]]:
        return [
            *self.breadcrumbs_items,
            {"url": reverse("media_assets:index"), "label": "Media"},
            {"url": "", "label": "Upload video"},
        ]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = self.request.user
        allowed = (
            Institution.objects.all()
            if is_network_admin(user)
            else Institution.objects.filter(pk__in=institution_ids_for_user(user, role="editor"))
        )
        institutions = list(allowed.order_by("name"))
        used = selectors.institutions_media_bytes([i.pk for i in institutions[:QUOTA_ROWS]])
        return super().get_context_data(**kwargs) | {
            # A choice only when there is one to make.
            "institutions": institutions if len(institutions) > 1 else [],
            "max_gib": settings.MEDIA_MAX_SOURCE_BYTES / 1024**3,
            # Each college's video storage (U11): a full one is refused at start.
            "quotas": [
                (
                    institution.name,
                    used[institution.pk] / 1024**3,
                    institution.media_quota_bytes() / 1024**3,
                )
                for institution in institutions[:QUOTA_ROWS]
            ],
        }


class MediaInspectView(InspectView):
    template_name = "cms/admin/media_inspect.html"
    fields = ["original_filename", "institution", "size_bytes", "duration_seconds", "created_at"]

    def get_object(self, queryset: Any = None) -> MediaAsset:
        return _asset_for(self.request, self.pk)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(
            progress=selectors.asset_progress(self.object),
            events=self.object.events.order_by("-pk")[:20],
            refresh_seconds=REFRESH_SECONDS if self.object.status in MOVING else None,
            is_playable=selectors.asset_is_playable(self.object),
            actions=[
                (label, reverse(f"media_assets:{name}", args=[self.object.pk]))
                for label, name, allowed in (
                    ("Retry", "retry", self.object.status == AssetStatus.FAILED),
                    ("Cancel", "cancel", self.object.status in MOVING),
                )
                if allowed
            ],
        )
        return context


class MediaActionView(View):
    """POST-only retry or cancel; GET is refused (it would change state)."""

    action: str = ""
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        asset = _asset_for(request, pk)
        if self.action == "retry":
            done = services.asset_retry(asset)
            message = "Queued again; stored renditions are kept." if done else "Not failed."
        elif self.action == "cancel":
            done = services.asset_cancel(asset)
            message = "Cancelled." if done else "Nothing to cancel."
        else:  # pragma: no cover - only the two URLs below exist
            raise Http404
        (messages.success if done else messages.warning)(request, f"{asset}: {message}")
        return redirect("media_assets:inspect", asset.pk)


PREVIEW_URL_SECONDS = 600  # an editor's look at a video; the page gets new ones on reload


def media_preview_playlist(
    request: HttpRequest, pk: int, rendition: str | None = None
) -> HttpResponse:
    """The master (``rendition=None``) or one rendition's playlist for the
    inspect page's player: the API serves only published resources' media,
    editors need to see theirs before. Same signing as the API's playlists."""
    asset = _asset_for(request, pk)
    try:  # ValueError: not ready, or no such rendition
        text = selectors.playlist_signed(asset, rendition, seconds=PREVIEW_URL_SECONDS)
    except ValueError as error:
        raise Http404(str(error)) from error
    response = HttpResponse(text, content_type="application/vnd.apple.mpegurl")
    response["Cache-Control"] = "private, no-store"
    return response


def media_preview_poster(request: HttpRequest, pk: int) -> HttpResponse:
    asset = _asset_for(request, pk)
    if not selectors.asset_is_playable(asset):
        raise Http404("not ready")
    poster = f"{asset.hls_prefix}poster.jpg"
    return HttpResponseRedirect(storage.store().presigned_get(poster, PREVIEW_URL_SECONDS))


def _progress_cell(asset: MediaAsset) -> str:
    if asset.status in ACTIVE:
        eta = f", {asset.eta_seconds // 60} min left" if asset.eta_seconds else ""
        return f"{asset.progress_percent:.0f}%{eta}"
    if asset.status == AssetStatus.FAILED:
        return asset.failure_message or asset.failure_code
    return ""


class MediaAssetViewSet(ModelViewSet):
    model = MediaAsset
    name = "media_assets"
    icon = "media"
    menu_label = "Media"
    menu_order = 210
    add_to_admin_menu = True
    inspect_view_enabled = True
    copy_view_enabled = False
    index_view_class = MediaIndexView
    inspect_view_class = MediaInspectView
    list_filter = ["status"]
    # A form is required by ModelViewSet; nobody may use it (no add/change).
    form_fields = ["original_filename"]

    @property
    def list_display(self) -> list[Any]:
        return [
            "original_filename",
            "institution",
            Column("status", label="Status", accessor="get_status_display"),
            Column("progress", label="Progress", accessor=_progress_cell),
            "created_at",
        ]

    def get_urlpatterns(self) -> list[Any]:
        return [
            *super().get_urlpatterns(),
            path("upload/", MediaUploadView.as_view(), name="upload"),
            path("retry/<int:pk>/", MediaActionView.as_view(action="retry"), name="retry"),
            path("cancel/<int:pk>/", MediaActionView.as_view(action="cancel"), name="cancel"),
            path("preview/<int:pk>/master.m3u8", media_preview_playlist, name="preview"),
            path(
                "preview/<int:pk>/<slug:rendition>/index.m3u8",
                media_preview_playlist,
                name="preview_rendition",
            ),
            path("preview/<int:pk>/poster.jpg", media_preview_poster, name="preview_poster"),
        ]
