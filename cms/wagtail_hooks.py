"""Admin wiring: snippet viewsets scoped by tenancy, choosers, menu order."""

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from django.utils.functional import cached_property
from wagtail import hooks
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.chooser import ChooseResultsView, ChooseView, SnippetChooserViewSet
from wagtail.snippets.views.snippets import EditView, SnippetViewSet

from cms import admin_preview, admin_tenancy, tenancy
from cms.admin_api_keys import ApiKeyViewSet
from cms.admin_media import MediaAssetViewSet
from cms.admin_summary import ResourcesSummaryItem
from cms.models import ChapterPage, CoursePage, Institution, Major, Resource

# Before any viewset asks for Resource's policy, or Wagtail makes a fallback
# one that knows only model permissions (and refuses a registration after it).
register_permission_policy(Resource, tenancy.ResourcePermissionPolicy(Resource))


class ResourceChooseMixin:
    """Editors choose their own resources and other colleges' published ones."""

    request: HttpRequest

    def get_object_list(self) -> QuerySet[Resource]:
        return tenancy.resources_choosable_by(self.request.user).select_related("institution")


class ResourceChooseView(ResourceChooseMixin, ChooseView):
    pass


class ResourceChooseResultsView(ResourceChooseMixin, ChooseResultsView):
    pass


class ResourceChooserViewSet(SnippetChooserViewSet):
    choose_view_class = ResourceChooseView
    choose_results_view_class = ResourceChooseResultsView


class ResourceEditView(EditView):
    @cached_property
    def header_more_buttons(self):
        preview = admin_preview.preview_button("resource", self.object.pk)
        return [*super().header_more_buttons, preview]


class ResourceViewSet(SnippetViewSet):
    model = Resource
    icon = "doc-full"
    menu_label = "Resources"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["title", "resource_type", "institution", "updated_at"]
    list_filter = ["resource_type", "difficulty", "live"]
    search_fields = ["title", "summary"]
    chooser_viewset_class = ResourceChooserViewSet
    edit_view_class = ResourceEditView
    copy_view_enabled = True

    def get_queryset(self, request):
        return tenancy.resources_editable_by(request.user).select_related("institution")


class InstitutionViewSet(SnippetViewSet):
    model = Institution
    icon = "group"
    menu_label = "Institutions"
    menu_order = 300
    add_to_admin_menu = True
    list_display = ["name", "code", "kind"]
    list_filter = ["kind"]  # the edit form: Institution.panels


class MajorViewSet(SnippetViewSet):
    model = Major
    icon = "list-ul"
    menu_label = "Majors"
    menu_order = 250
    add_to_admin_menu = True
    list_display = ["name", "code", "level", "institution"]
    list_filter = ["level", "institution"]


register_snippet(ResourceViewSet)
register_snippet(MajorViewSet)
register_snippet(InstitutionViewSet)


@hooks.register("construct_page_chooser_queryset")
def scope_page_chooser(pages, request):
    # Navigable, not just visible: the chooser opens at the root, and an editor
    # must be able to walk down through the home page to their own college.
    return pages.filter(pk__in=tenancy.pages_navigable_by(request.user).values("pk"))


@hooks.register("construct_explorer_page_queryset")
def scope_explorer(parent_page, pages, request):
    return pages.filter(pk__in=tenancy.pages_visible_to(request.user).values("pk"))


@hooks.register("construct_admin_api", order=100)  # after Wagtail's own registrations
def scope_admin_api(router):
    router.register_endpoint("documents", admin_tenancy.TenantDocumentsAdminAPIViewSet)
    router.register_endpoint("images", admin_tenancy.TenantImagesAdminAPIViewSet)


@hooks.register("after_move_page")
def reassign_owner_after_move(request, page):
    """A course moved into another institution's subtree now belongs to it
    (only network admins can move across subtrees)."""
    parent = page.get_parent().specific
    institution_id = getattr(parent, "institution_id", None)
    if institution_id is None:
        return
    subtree = page.get_descendants(inclusive=True)
    for model in (CoursePage, ChapterPage):
        model.objects.filter(pk__in=subtree.values("pk")).update(institution_id=institution_id)


@hooks.register("construct_homepage_summary_items")
def add_resources_summary_item(request, items):
    items.append(ResourcesSummaryItem(request))


@hooks.register("register_admin_urls")
def register_preview_link_url():
    return [
        path(
            "api-preview/<str:kind>/<int:object_id>/",
            admin_preview.PreviewLinkView.as_view(),
            name="cms_api_preview",
        )
    ]


@hooks.register("register_page_header_buttons")
def add_page_preview_button(page, user, view_name, next_url=None):
    button = admin_preview.page_preview_button(page)
    if button is not None:
        yield button


@hooks.register("register_admin_viewset")
def register_api_key_viewset():
    return ApiKeyViewSet()


@hooks.register("register_admin_viewset")
def register_media_viewset():
    return MediaAssetViewSet()
