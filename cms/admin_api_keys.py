"""Admin screens for API keys: network admins issue, re-limit and revoke them.

A key's secret is shown once, on the page that answers the "create" form,
and never stored (only its SHA-256 is). Revoking keeps the row, so logs and
the listing still say which app a key belonged to; it takes effect at once
(``cms.api.keys.api_key_revoke`` drops the cached row).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.views import View
from wagtail.admin import messages
from wagtail.admin.views.generic import CreateView, EditView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets import Button
from wagtail.permission_policies.base import BasePermissionPolicy
from wagtail.permissions import register_permission_policy

from cms.api.keys import api_key_create, api_key_revoke, api_key_update
from cms.models import ApiKey
from cms.tenancy import NETWORK_ADMINS_GROUP, is_network_admin

# Keys are never deleted (revoked instead) and never copied.
ACTIONS = frozenset({"add", "change", "view"})


class NetworkAdminsOnly(BasePermissionPolicy):
    """Keys are network-wide: college staff never see them."""

    def user_has_permission(self, user: Any, action: str) -> bool:
        return action in ACTIONS and is_network_admin(user)

    def users_with_any_permission(self, actions: Any) -> QuerySet[Any]:
        users = get_user_model().objects
        if not ACTIONS.intersection(actions):
            return users.none()
        return users.filter(
            Q(is_active=True) & (Q(is_superuser=True) | Q(groups__name=NETWORK_ADMINS_GROUP))
        ).distinct()


# Registered up front, as Wagtail 8 asks (a viewset attribute is deprecated).
register_permission_policy(ApiKey, NetworkAdminsOnly(ApiKey))


class ApiKeyCreateView(CreateView):
    def save_instance(self) -> ApiKey:
        api_key, self.raw_key = api_key_create(
            name=self.form.cleaned_data["name"],
            rate_per_minute=self.form.cleaned_data["rate_per_minute"],
        )
        return api_key

    def save_action(self) -> HttpResponse:
        # The one and only time the secret exists outside the caller's hands:
        # answer the POST with it rather than carry it through a redirect.
        # (Wagtail marks every admin response no-store, so no cache keeps it.)
        return TemplateResponse(
            self.request,
            "cms/admin/api_key_created.html",
            {
                "api_key": self.object,
                "raw_key": self.raw_key,
                "index_url": reverse(self.index_url_name),
            },
        )


class ApiKeyEditView(EditView):
    def save_instance(self) -> ApiKey:
        return api_key_update(
            api_key=self.object,
            name=self.form.cleaned_data["name"],
            rate_per_minute=self.form.cleaned_data["rate_per_minute"],
        )

    @cached_property
    def header_more_buttons(self) -> list[Button]:
        buttons = list(super().header_more_buttons)
        if self.object.is_active:
            url = reverse("api_keys:revoke", args=[self.object.pk])
            buttons.append(Button("Revoke", url=url, icon_name="bin", priority=30))
        return buttons


class ApiKeyRevokeView(View):
    """GET asks for confirmation; POST revokes."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_network_admin(request.user):
            return redirect("wagtailadmin_home")
        self.api_key = get_object_or_404(ApiKey, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return TemplateResponse(request, "cms/admin/api_key_revoke.html", {"api_key": self.api_key})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        if self.api_key.is_active:
            api_key_revoke(api_key=self.api_key)
            messages.success(request, f"Revoked {self.api_key}. Calls with it now get 401.")
        return redirect("api_keys:index")


class ApiKeyViewSet(ModelViewSet):
    model = ApiKey
    name = "api_keys"
    icon = "key"
    menu_label = "API keys"
    add_to_settings_menu = True
    form_fields = ["name", "rate_per_minute"]
    list_display = ["name", "prefix", "rate_per_minute", "created_at", "revoked_at"]
    list_filter: list[str] = []
    add_view_class = ApiKeyCreateView
    edit_view_class = ApiKeyEditView
    copy_view_enabled = False
    inspect_view_enabled = False

    def get_urlpatterns(self) -> list[Any]:
        return [
            *super().get_urlpatterns(),
            path("revoke/<int:pk>/", ApiKeyRevokeView.as_view(), name="revoke"),
        ]
