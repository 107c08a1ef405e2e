"""Tenancy: which institution's content a user may see and change.

This is the one place the rule lives. Staff belong to an institution through
its editors or reviewers group. They see and edit only objects their
institution owns; for choosing resources they may also pick other
institutions' *published* resources. Superusers and members of the
network-admin group see everything.

Wagtail checks page permissions per subtree, but its snippet views check only
model-level permissions, and several page views (revisions, history, preview,
copy source) show titles before any check. ``AdminTenancyMiddleware`` therefore
guards every admin URL that names a page or resource by id, so a new Wagtail
view is covered without a new rule here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404, HttpRequest, HttpResponse
from wagtail.models import Page

from cms.models import Institution, Resource

NETWORK_ADMINS_GROUP = "网络管理员 Network admins"

# URL names (namespace:name) of admin views and the kwarg naming the object.
# Snippet and page views share these kwarg names across Wagtail's generic views.
_PAGE_KWARGS = ("page_id", "parent_page_id", "pk")
_RESOURCE_NAMESPACE = "wagtailsnippets_cms_resource"
_RESOURCE_CHOOSER_NAMESPACE = "wagtailsnippetchoosers_cms_resource"


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


def user_can_access_page_id(user: Any, page_id: int) -> bool:
    if is_network_admin(user):
        return True
    path = Page.objects.filter(pk=page_id).values_list("path", flat=True).first()
    if path is None:
        return True  # let the view answer its own 404
    roots = _institution_root_paths(institution_ids_for_user(user))
    # Ancestors of an institution's root (the home page) are navigable, not editable:
    # Wagtail's own permissions keep editors from changing them.
    return any(path.startswith(root) or root.startswith(path) for root in roots)


def user_can_access_resource_id(user: Any, resource_id: str) -> bool:
    if is_network_admin(user):
        return True
    return resources_editable_by(user).filter(pk=resource_id).exists() or not (
        Resource.objects.filter(pk=resource_id).exists()
    )


def user_can_choose_resource_id(user: Any, resource_id: str) -> bool:
    if is_network_admin(user):
        return True
    return resources_choosable_by(user).filter(pk=resource_id).exists() or not (
        Resource.objects.filter(pk=resource_id).exists()
    )


def college_groups(institution: Institution) -> tuple[Group, Group]:
    assert institution.editors_group and institution.reviewers_group
    return institution.editors_group, institution.reviewers_group


class AdminTenancyMiddleware:
    """Answers 404 for admin views naming another institution's page or resource.

    A 404, not a 403, so the response does not even confirm the object exists.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]
    ) -> None:
        match = request.resolver_match
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated or is_network_admin(user):
            return None
        namespace = match.namespace
        if namespace == _RESOURCE_NAMESPACE:
            object_id = view_kwargs.get("pk")
            if object_id is not None and not user_can_access_resource_id(user, object_id):
                raise Http404
        elif namespace == _RESOURCE_CHOOSER_NAMESPACE:
            object_id = view_kwargs.get("pk")
            if object_id is not None and not user_can_choose_resource_id(user, object_id):
                raise Http404
        elif match.view_name.startswith("wagtailadmin"):
            for kwarg in _PAGE_KWARGS:
                if kwarg == "pk" and not namespace.startswith("wagtailadmin_pages"):
                    continue
                if kwarg in view_kwargs and not user_can_access_page_id(user, view_kwargs[kwarg]):
                    raise Http404
        return None
