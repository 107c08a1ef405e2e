"""Admin enforcement of tenancy: the middleware and the scoped stand-ins for
Wagtail views that would otherwise show other colleges' objects.

The rules (who may see what) live in ``cms/tenancy.py``; this module applies
them to admin URLs that name objects by id and to site-wide listings (points
1 and 3 of that module's docstring).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db.models import CharField, F, Model, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_list_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.decorators.cache import never_cache
from wagtail.admin.auth import require_admin_access
from wagtail.admin.views.bulk_action import dispatcher as bulk_action_dispatcher
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.admin.views.reports.locked_pages import LockedPagesView
from wagtail.admin.views.reports.page_types_usage import PageTypesUsageReportView
from wagtail.admin.views.reports.workflows import WorkflowTasksView, WorkflowView
from wagtail.documents.api.admin.views import DocumentsAdminAPIViewSet
from wagtail.images.api.admin.views import ImagesAdminAPIViewSet
from wagtail.models import ModelLogEntry, Page, TaskState
from wagtail.permissions import policy_registry

from cms.models import Institution, Resource
from cms.tenancy import (
    NETWORK_ADMINS_GROUP,
    collection_members_choosable_by,
    institution_ids_for_user,
    institution_root_paths,
    is_network_admin,
    owned_objects_filter,
    pages_visible_to,
    resources_choosable_by,
    resources_editable_by,
)

# Admin URL kwargs that name a page, in any admin view.
_PAGE_KWARGS = ("page_id", "parent_page_id", "page_to_move_id", "destination_id", "page_pk")
# ``pk`` names a page only in these namespaces (elsewhere it names a snippet,
# a user, a workflow…).
_PAGE_PK_NAMESPACES = ("wagtailadmin_pages", "wagtailadmin_api:pages")
_RESOURCE_NAMESPACE = "wagtailsnippets_cms_resource"
_RESOURCE_CHOOSER_NAMESPACE = "wagtailsnippetchoosers_cms_resource"
# Every action a bulk-action confirmation may be about: a user who holds none
# of them on an object must not learn it exists.
_ANY_ACTION = ("add", "change", "delete", "publish", "lock", "unlock", "choose", "bulk_delete")


# --------------------------------------------------------------------------- ids in URLs


def user_can_access_page_id(user: Any, page_id: Any) -> bool:
    if is_network_admin(user):
        return True
    path = Page.objects.filter(pk=page_id).values_list("path", flat=True).first()
    if path is None:
        return True  # let the view answer its own 404
    roots = institution_root_paths(institution_ids_for_user(user))
    # Ancestors of an institution's root (the home page) are navigable, not editable:
    # Wagtail's own permissions keep editors from changing them.
    return any(path.startswith(root) or root.startswith(path) for root in roots)


def user_can_access_resource_id(user: Any, resource_id: Any) -> bool:
    if is_network_admin(user):
        return True
    return resources_editable_by(user).filter(pk=resource_id).exists() or not (
        Resource.objects.filter(pk=resource_id).exists()
    )


def user_can_choose_resource_id(user: Any, resource_id: Any) -> bool:
    if is_network_admin(user):
        return True
    return resources_choosable_by(user).filter(pk=resource_id).exists() or not (
        Resource.objects.filter(pk=resource_id).exists()
    )


def _user_can_access_object(user: Any, model: type[Model] | None, object_id: Any) -> bool:
    if model is not None and issubclass(model, Page):
        return user_can_access_page_id(user, object_id)
    if model is Resource:
        return user_can_access_resource_id(user, object_id)
    return True  # not tenant-owned content


def user_can_access_task_state_id(user: Any, task_state_id: Any) -> bool:
    """Wagtail's workflow-action views take the task state from the URL without
    checking that it belongs to the object named beside it, so the task state
    is checked on its own: its object must be the user's."""
    state = (
        TaskState.objects.filter(pk=task_state_id)
        .values_list("workflow_state__base_content_type", "workflow_state__object_id")
        .first()
    )
    if state is None:
        return True
    content_type_id, object_id = state
    model = ContentType.objects.get_for_id(content_type_id).model_class()
    return _user_can_access_object(user, model, object_id)


def _user_can_access_model_object(user: Any, app_label: str, model_name: str, object_id: Any):
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return True  # the view answers 404 itself
    return _user_can_access_object(user, model, object_id)


# Views that take the objects they act on as repeated ``?id=`` parameters.
# (Bulk actions do too; they are scoped by queryset in ``_TenantBulkAction``.)
_ID_LIST_VIEWS: dict[str, Callable[[Any, Any], bool]] = {
    "wagtailadmin_choose_page_chosen_multiple": user_can_access_page_id,
    f"{_RESOURCE_CHOOSER_NAMESPACE}:chosen_multiple": user_can_choose_resource_id,
}


def _names_foreign_object(request: HttpRequest, kwargs: dict[str, Any]) -> bool:
    """Whether the URL names, by id, a page, resource or task state that is not the user's.

    Every id is checked, not just the first: a view may take an object and a
    task state (or a page and a destination) and trust that they belong together.
    """
    try:
        return not all(_id_checks(request, kwargs))
    except (TypeError, ValueError, ValidationError):
        return True  # not an id the database accepts: refuse rather than pass it unchecked


def _id_checks(request: HttpRequest, kwargs: dict[str, Any]) -> Iterator[bool]:
    user = request.user
    match = request.resolver_match
    assert match is not None
    for name in _PAGE_KWARGS:
        if name in kwargs:
            yield user_can_access_page_id(user, kwargs[name])
    if "pk" in kwargs:
        if match.namespace in _PAGE_PK_NAMESPACES:
            yield user_can_access_page_id(user, kwargs["pk"])
        elif match.namespace == _RESOURCE_NAMESPACE:
            yield user_can_access_resource_id(user, kwargs["pk"])
        elif match.namespace == _RESOURCE_CHOOSER_NAMESPACE:
            yield user_can_choose_resource_id(user, kwargs["pk"])
    if "task_state_id" in kwargs:
        yield user_can_access_task_state_id(user, kwargs["task_state_id"])
    if {"app_label", "model_name", "object_id"} <= kwargs.keys():  # editing sessions
        yield _user_can_access_model_object(
            user, kwargs["app_label"], kwargs["model_name"], kwargs["object_id"]
        )
    if check := _ID_LIST_VIEWS.get(match.view_name):
        for object_id in request.GET.getlist("id"):
            yield check(user, object_id)


# --------------------------------------------------------------------------- site-wide listings


def staff_visible_to(user: Any) -> QuerySet:
    """Users whose names ``user`` may see: staff of the user's own institutions
    and the network's administrators."""
    User = get_user_model()
    if is_network_admin(user):
        return User.objects.all()
    institutions = Institution.objects.filter(pk__in=institution_ids_for_user(user))
    return User.objects.filter(
        Q(pk=user.pk)
        | Q(is_superuser=True)
        | Q(groups__name=NETWORK_ADMINS_GROUP)
        | Q(groups__in=institutions.values("editors_group"))
        | Q(groups__in=institutions.values("reviewers_group"))
    ).distinct()


class _ColleaguesOnlyFilters:
    """Report filters offer every user who ever locked, edited or submitted
    anything anywhere: each college's staff list. Offer only colleagues."""

    request: HttpRequest

    @cached_property
    def filters(self):
        filterset = super().filters
        if filterset is not None:
            colleagues = staff_visible_to(self.request.user).values("pk")
            for form_field in filterset.form.fields.values():
                queryset = getattr(form_field, "queryset", None)
                if queryset is not None and queryset.model is get_user_model():
                    form_field.queryset = queryset.filter(pk__in=colleagues)
        return filterset


class _TenantLockedPagesView(_ColleaguesOnlyFilters, LockedPagesView):
    pass  # the pages are scoped by page permissions already


class _TenantWorkflowView(_ColleaguesOnlyFilters, WorkflowView):
    def get_queryset(self):
        institution_ids = institution_ids_for_user(self.request.user)
        return super().get_queryset().filter(owned_objects_filter(institution_ids))


class _TenantWorkflowTasksView(_ColleaguesOnlyFilters, WorkflowTasksView):
    def get_queryset(self):
        institution_ids = institution_ids_for_user(self.request.user)
        return (
            super()
            .get_queryset()
            .filter(owned_objects_filter(institution_ids, prefix="workflow_state__"))
        )


class _TenantLogEntriesView(_ColleaguesOnlyFilters, LogEntriesView):
    """Site history. Wagtail already limits page entries to explorable pages;
    entries about resources are shown to anyone with a resource permission."""

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not issubclass(queryset.model, ModelLogEntry):
            return queryset
        # Entries of deleted resources go too: their owner can no longer be told.
        own_resource_keys = resources_editable_by(self.request.user).annotate(
            key=Cast("pk", CharField())
        )
        return queryset.exclude(
            Q(content_type=ContentType.objects.get_for_model(Resource))
            & ~Q(object_id__in=own_resource_keys.values("key"))
        )


class _TenantPageTypesUsageView(PageTypesUsageReportView):
    """Page-type usage names the last edited page of each type, site-wide."""

    def decorate_paginated_queryset(self, page_types):
        page_types = super().decorate_paginated_queryset(page_types)
        visible = pages_visible_to(self.request.user)
        for page_type in page_types:
            page = page_type.last_edited_page
            if page is not None and not visible.filter(pk=page.pk).exists():
                # One query per page type: a handful of rows, not a page of content.
                page_type.last_edited_page = (
                    visible.filter(content_type=page_type)
                    .order_by(F("latest_revision_created_at").desc(nulls_last=True), "title", "-pk")
                    .specific()
                    .first()
                )
        return page_types


class _TenantBulkAction:
    """Bulk-action confirmations list the chosen objects, and "items you cannot
    act on" by title. Objects the user holds no permission on at all are
    therefore not found, as if the id (or ``id=all``) had never named them."""

    request: HttpRequest

    def get_queryset(self, model, object_ids):
        in_reach = policy_registry.get_by_type(model).instances_user_has_any_permission_for(
            self.request.user, _ANY_ACTION
        )
        return get_list_or_404(in_reach, pk__in=object_ids)


@functools.cache
def _tenant_bulk_action_class(action_class: type) -> type:
    return type(f"Tenant{action_class.__name__}", (_TenantBulkAction, action_class), {})


def _tenant_bulk_action(
    request: HttpRequest, app_label: str, model_name: str, action: str
) -> HttpResponse:
    """Wagtail's bulk-action dispatcher, with the action class scoped."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as e:
        raise Http404 from e
    action_class = bulk_action_registry.get_bulk_action_class(app_label, model_name, action)
    if action_class is None:
        raise Http404
    return _tenant_bulk_action_class(action_class)(request, model).dispatch(request)


class _TenantCollectionMembersAPI:
    """Wagtail's admin API lists documents and images by collection *privacy*
    only, so every college's files would show. Scope them like the choosers."""

    request: HttpRequest

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()  # type: ignore[misc]
        choosable = collection_members_choosable_by(self.request.user, queryset.model)
        return queryset.filter(pk__in=choosable.values("pk"))


class TenantDocumentsAdminAPIViewSet(_TenantCollectionMembersAPI, DocumentsAdminAPIViewSet):
    pass


class TenantImagesAdminAPIViewSet(_TenantCollectionMembersAPI, ImagesAdminAPIViewSet):
    pass


# The original view (class, or function for function views) → its scoped stand-in.
_TENANT_VIEWS: dict[Any, Any] = {
    LockedPagesView: _TenantLockedPagesView,
    WorkflowView: _TenantWorkflowView,
    WorkflowTasksView: _TenantWorkflowTasksView,
    LogEntriesView: _TenantLogEntriesView,
    PageTypesUsageReportView: _TenantPageTypesUsageView,
    bulk_action_dispatcher.index: _tenant_bulk_action,
}


@functools.cache
def _tenant_view(view_func: Callable) -> Callable | None:
    """The scoped stand-in for a resolved admin view, or None if it needs none.

    Wagtail wraps admin views in decorators (access check, no-cache); the
    stand-in gets the same ones, since the originals never run.
    """
    original = inspect.unwrap(view_func)
    view_class = getattr(original, "view_class", None)
    if view_class in _TENANT_VIEWS:
        view = _TENANT_VIEWS[view_class].as_view(**original.view_initkwargs)
    elif original in _TENANT_VIEWS:
        view = _TENANT_VIEWS[original]
    else:
        return None
    return never_cache(require_admin_access(view))


@functools.cache
def _admin_prefix() -> str:
    return reverse("wagtailadmin_home")


class AdminTenancyMiddleware:
    """Answers 404 for admin views naming another institution's object, and
    serves site-wide listings through their tenant-scoped stand-ins.

    A 404, not a 403, so the response does not even confirm the object exists.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        match = request.resolver_match
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated or is_network_admin(user):
            return None
        if not request.path_info.startswith(_admin_prefix()):
            return None  # the public site and API have their own filters
        if _names_foreign_object(request, view_kwargs):
            raise Http404
        tenant_view = _tenant_view(view_func)
        if tenant_view is not None:
            return tenant_view(request, *view_args, **view_kwargs)
        return None
