"""Tenancy: which institution's content a user may see and change.

This is the one place the rule lives. Staff belong to an institution through
its editors or reviewers group. They see and edit only objects their
institution owns; for choosing resources they may also pick other
institutions' *published* resources. Superusers and members of the
network-admin group see everything.

Wagtail enforces page permissions per subtree, but three kinds of admin view
go around that, and each kind is closed once rather than view by view:

1. Views that name an object by id — in the path, or as ``?id=`` — and show it
   before (or without) an object-level check: snippet views check only model
   permissions, and revisions, history, preview, copy-source, chosen-multiple
   and workflow-action views show titles first. ``AdminTenancyMiddleware``
   answers 404 for every id that is not the user's, so a new Wagtail view with
   the same URL kwargs is covered without a new rule (``cms/admin_tenancy.py``).
2. Object-level permission checks on resources: ``ResourcePermissionPolicy``
   makes Wagtail's own checks (delete, preview, editing sessions, bulk
   actions) answer per institution instead of per model.
3. Site-wide listings that Wagtail scopes by model permission only (the
   workflow and site-history reports, page-type usage, bulk-action
   confirmations, which list "items you cannot act on" by title) and report
   filters that offer every college's staff by name. The middleware serves
   these through the scoped subclasses in ``cms/admin_tenancy.py``.

Listings that Wagtail lets us scope with a queryset (snippet index, choosers,
explorer) are scoped in ``wagtail_hooks.py`` with the querysets below.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Model, Q, QuerySet
from django.db.models.functions import Cast
from wagtail.admin.widgets.chooser import BaseChooser
from wagtail.fields import RichTextField
from wagtail.models import CollectionMember, Page
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from cms.models import Institution, Resource
from media_pipeline.models import MediaAsset

NETWORK_ADMINS_GROUP = "网络管理员 Network admins"


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


def institution_root_paths(institution_ids: set[int]) -> list[str]:
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
    for path in institution_root_paths(institution_ids):
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
    for path in institution_root_paths(institution_ids_for_user(user)):
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


def collection_members_choosable_by(user: Any, model: type[Model]) -> QuerySet:
    """Documents and images: Wagtail keeps them in collections (one per
    college, its staff groups hold the collection permissions), so what a user
    may pick is what Wagtail's own choosers offer — "choose" in the collection."""
    return policy_registry.get_by_type(model).instances_user_has_any_permission_for(
        user, ["choose"]
    )


def limit_form_choices(form: Any, user: Any) -> None:
    """Narrow every choice of institution-owned objects in an admin form (and
    its inline formsets) to what ``user`` may pick.

    Choosers only *offer* the right objects; the form field behind them accepts
    any id that is posted. Meant for the admin forms' ``__init__`` (they know
    ``for_user``): resources → ``resources_choosable_by``; institutions → the
    user's; documents and images → ``collection_members_choosable_by``;
    anything else with an ``institution`` (pages, media assets) → the user's
    institutions' objects.
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
        elif issubclass(model, CollectionMember):
            allowed = collection_members_choosable_by(user, model)
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


def rich_text_references_check(form: Any, user: Any) -> None:
    """Rich text names documents and images by id (links, embeds), past the
    narrowed choice fields: refuse those the user could not choose. For the
    admin forms' ``clean``, after the widget has turned the editor's
    contentstate into stored HTML."""
    if user is None or is_network_admin(user):
        return
    rich_text_fields = [
        field for field in form._meta.model._meta.get_fields() if isinstance(field, RichTextField)
    ]
    for field in rich_text_fields:
        name = field.name
        value = form.cleaned_data.get(name)
        if not value:
            continue
        named: dict[type[Model], set[int]] = {}
        for model, object_id, *_ in field.extract_references(value):
            if issubclass(model, CollectionMember):
                named.setdefault(model, set()).add(int(object_id))
        for model, ids in named.items():  # one query per model, not per link
            allowed = set(
                collection_members_choosable_by(user, model)
                .filter(pk__in=ids)
                .values_list("pk", flat=True)
            )
            if foreign := sorted(ids - allowed):
                form.add_error(
                    name,
                    f"链接了不可用的{model._meta.verbose_name}（编号 {foreign[0]}）："
                    "只能引用本院校的文件与图片。",
                )
                break


def _limit_chooser_lookup(widget: BaseChooser, queryset: QuerySet) -> None:
    """A form that rejects a posted id renders it again, and the chooser widget
    looks the id up unscoped to show its title. Show nothing for foreign ids."""
    lookup = widget.get_instance

    def get_instance(value: Any) -> Any:
        if value is None or isinstance(value, Model) or queryset.filter(pk=value).exists():
            return lookup(value)
        return None

    widget.get_instance = get_instance


def college_groups(institution: Institution) -> tuple[Group, Group]:
    assert institution.editors_group and institution.reviewers_group
    return institution.editors_group, institution.reviewers_group


def media_assets_visible_to(user: Any) -> QuerySet[MediaAsset]:
    """Media assets (uploads and their transcodes) of the user's institutions."""
    assets = MediaAsset.objects.all()
    if is_network_admin(user):
        return assets
    return assets.filter(institution_id__in=institution_ids_for_user(user))
