"""Tenancy: which institution's content a user may see and change.

This is the one place the rule lives. Staff belong to an institution through
its editors or reviewers group. They see and edit only objects their
institution owns; for choosing resources they may also pick other
institutions' *published* resources. Superusers and members of the
network-admin group see everything.

Wagtail enforces page permissions per subtree, but three kinds of admin view
go around that, and each kind is closed here once rather than view by view:

1. Views that name an object by id — in the path, or as ``?id=`` — and show it
   before (or without) an object-level check: snippet views check only model
   permissions, and revisions, history, preview, copy-source, chosen-multiple
   and workflow-action views show titles first. ``AdminTenancyMiddleware``
   answers 404 for every id that is not the user's, so a new Wagtail view with
   the same URL kwargs is covered without a new rule.
2. Object-level permission checks on resources: ``ResourcePermissionPolicy``
   makes Wagtail's own checks (delete, preview, editing sessions, bulk
   actions) answer per institution instead of per model.
3. Site-wide listings that Wagtail scopes by model permission only (the
   workflow and site-history reports, page-type usage, bulk-action
   confirmations, which list "items you cannot act on" by title) and report
   filters that offer every college's staff by name. The middleware serves
   these through the scoped subclasses in ``_TENANT_VIEWS``.

Listings that Wagtail lets us scope with a queryset (snippet index, choosers,
explorer) are scoped in ``wagtail_hooks.py`` with the querysets below.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
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
from wagtail.admin.widgets.chooser import BaseChooser
from wagtail.models import ModelLogEntry, Page, TaskState
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from cms.models import Institution, Resource

NETWORK_ADMINS_GROUP = "网络管理员 Network admins"

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


def is_network_admin(user: Any) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_wanxue_is_network_admin", None)
    if cached is None:
        cached = user.groups.filter(name=NETWORK_ADMINS_GROUP).exists()
        user._wanxue_is_network_admin = cached
    return cached


def institution_ids_for_user(user: Any, role: str | None = None) -> set[int]:
    """Ids of the institutions whose staff ``user`` is (as ``role``, if given)."""
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return set()
    cache_name = f"_wanxue_institutions_{role or 'any'}"
    cached = getattr(user, cache_name, None)
    if cached is not None:
        return cached
    group_ids = user.groups.values("pk")
    if role == "editor":
        condition = Q(editors_group__in=group_ids)
    elif role == "reviewer":
        condition = Q(reviewers_group__in=group_ids)
    else:
        condition = Q(editors_group__in=group_ids) | Q(reviewers_group__in=group_ids)
    ids = set(Institution.objects.filter(condition).values_list("pk", flat=True))
    setattr(user, cache_name, ids)
    return ids


def institutions_for_user(user: Any) -> QuerySet[Institution]:
    if is_network_admin(user):
        return Institution.objects.all()
    return Institution.objects.filter(pk__in=institution_ids_for_user(user))


def resources_editable_by(user: Any) -> QuerySet[Resource]:
    """Resources the user may list, open, edit, publish or delete in the admin."""
    if is_network_admin(user):
        return Resource.objects.all()
    return Resource.objects.filter(institution__in=institution_ids_for_user(user))


def resources_choosable_by(user: Any) -> QuerySet[Resource]:
    """Resources the user may attach to a chapter: their own (any state) and
    everyone's published ones. Never another institution's drafts."""
    if is_network_admin(user):
        return Resource.objects.all()
    return Resource.objects.filter(Q(institution__in=institution_ids_for_user(user)) | Q(live=True))


def _institution_root_paths(institution_ids: set[int]) -> list[str]:
    return list(
        Page.objects.filter(
            pk__in=Institution.objects.filter(pk__in=institution_ids)
            .exclude(root_page=None)
            .values("root_page")
        ).values_list("path", flat=True)
    )


def pages_in_institutions(institution_ids: set[int]) -> QuerySet[Page]:
    """The subtrees of the given institutions, by materialised path (one query)."""
    condition = Q(pk__in=[])
    for path in _institution_root_paths(institution_ids):
        condition |= Q(path__startswith=path)
    return Page.objects.filter(condition)


def pages_visible_to(user: Any) -> QuerySet[Page]:
    if is_network_admin(user):
        return Page.objects.all()
    return pages_in_institutions(institution_ids_for_user(user))


def pages_navigable_by(user: Any) -> QuerySet[Page]:
    """The user's subtrees plus the pages above them (root, home), which a
    chooser must show so the user can walk down to their own college."""
    if is_network_admin(user):
        return Page.objects.all()
    condition = Q(pk__in=[])
    for path in _institution_root_paths(institution_ids_for_user(user)):
        ancestors = [path[:end] for end in range(Page.steplen, len(path), Page.steplen)]
        condition |= Q(path__startswith=path) | Q(path__in=ancestors)
    return Page.objects.filter(condition)


def owned_objects_filter(institution_ids: set[int], prefix: str = "") -> Q:
    """A filter on (base_content_type, object_id) rows — workflow states, log
    entries — that keeps those of pages and resources the institutions own."""
    page_type = ContentType.objects.get_for_model(Page)
    resource_type = ContentType.objects.get_for_model(Resource)
    page_keys = (
        pages_in_institutions(institution_ids).annotate(key=Cast("pk", CharField())).values("key")
    )
    resource_keys = (
        Resource.objects.filter(institution__in=institution_ids)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    return Q(**{f"{prefix}base_content_type": page_type, f"{prefix}object_id__in": page_keys}) | Q(
        **{f"{prefix}base_content_type": resource_type, f"{prefix}object_id__in": resource_keys}
    )


class ResourcePermissionPolicy(ModelPermissionPolicy):
    """Model permissions say what a college's staff may do to resources; the
    owning institution says to which ones. Registered in ``wagtail_hooks.py``."""

    def user_has_permission_for_instance(self, user: Any, action: str, instance: Any) -> bool:
        return self.user_has_permission(user, action) and (
            is_network_admin(user) or instance.institution_id in institution_ids_for_user(user)
        )

    def instances_user_has_any_permission_for(
        self, user: Any, actions: Iterable[str]
    ) -> QuerySet[Resource]:
        if not self.user_has_any_permission(user, actions):
            return Resource.objects.none()
        return resources_editable_by(user)


def limit_form_choices(form: Any, user: Any) -> None:
    """Narrow every choice of institution-owned objects in an admin form (and
    its inline formsets) to what ``user`` may pick.

    Choosers only *offer* the right objects; the form field behind them accepts
    any id that is posted. Meant for the admin forms' ``__init__`` (they know
    ``for_user``): resources → ``resources_choosable_by``; institutions → the
    user's; anything else with an ``institution`` (pages, media assets) → the
    user's institutions' objects.
    """
    if user is None or is_network_admin(user):
        return
    for form_field in form.fields.values():
        queryset = getattr(form_field, "queryset", None)
        if queryset is None:
            continue
        model = queryset.model
        if model is Resource:
            allowed = resources_choosable_by(user)
        elif model is Institution:
            allowed = institutions_for_user(user)
        elif any(field.name == "institution" for field in model._meta.get_fields()):
            allowed = model._default_manager.filter(institution__in=institution_ids_for_user(user))
        else:
            continue
        form_field.queryset = queryset.filter(pk__in=allowed.values("pk"))
        if isinstance(form_field.widget, BaseChooser):
            _limit_chooser_lookup(form_field.widget, form_field.queryset)
    for formset in getattr(form, "formsets", {}).values():
        for child_form in formset.forms:
            limit_form_choices(child_form, user)


def _limit_chooser_lookup(widget: BaseChooser, queryset: QuerySet) -> None:
    """A form that rejects a posted id renders it again, and the chooser widget
    looks the id up unscoped to show its title. Show nothing for foreign ids."""
    lookup = widget.get_instance

    def get_instance(value: Any) -> Any:
        if value is None or isinstance(value, Model) or queryset.filter(pk=value).exists():
            return lookup(value)
        return None

    widget.get_instance = get_instance


# --------------------------------------------------------------------------- ids in URLs


def user_can_access_page_id(user: Any, page_id: Any) -> bool:
    if is_network_admin(user):
        return True
    path = Page.objects.filter(pk=page_id).values_list("path", flat=True).first()
    if path is None:
        return True  # let the view answer its own 404
    roots = _institution_root_paths(institution_ids_for_user(user))
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


def college_groups(institution: Institution) -> tuple[Group, Group]:
    assert institution.editors_group and institution.reviewers_group
    return institution.editors_group, institution.reviewers_group


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
