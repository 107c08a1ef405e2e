"""A1 tenant matrix (RELIABILITY.md B5): staff of college A acting on college B.

Every admin view that lists, edits, publishes, deletes, copies, previews or
chooses content is driven over HTTP as A's editor (or reviewer, where only a
reviewer could act at all) against B's objects. The answer must be the exact
refusal status, B's titles must be absent from the body, and B's objects must
be unchanged. Each row is also run against A's own object, which must succeed:
that positive control proves the URL is real and the refusal is the tenancy
rule, not a typo.

Every B title carries the marker 乙校, so a leak of any of them — including a
title from a draft revision — shows up as the marker in the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from wagtail.admin.panels import get_edit_handler
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Page, Revision, TaskState, WorkflowState
from wagtail.test.utils.form_data import querydict_from_html

from cms import services, tenancy
from cms.models import ChapterPage, CoursePage, Institution, Resource
from media_pipeline.models import MediaAsset
from tests.conftest import make_staff

B_MARKER = "乙校"
B_STAFF = ("editor_b", "reviewer_b")  # usernames: B's staff are B's business too
TAG = {"甲": "QJA", "乙": "XYZ"}


# --------------------------------------------------------------------------- the two colleges


@dataclass
class Tenant:
    """One college's content: every state an object can be in, uniquely titled."""

    college: Institution
    editor: Any
    reviewer: Any
    course: CoursePage  # published, with a chapter, plus an unpublished draft edit
    chapter: ChapterPage  # published, locked by the college's editor
    draft_course: CoursePage  # never published, not in moderation
    submitted_course: CoursePage  # never published, in moderation
    resource: Resource  # published, plus an unpublished draft edit
    draft_resource: Resource  # never published, not in moderation, locked by its editor
    submitted_resource: Resource  # never published, in moderation
    document: Any
    image: Any
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def root_page_id(self) -> int:
        assert self.college.root_page_id is not None
        return self.college.root_page_id

    def first_revision_id(self, obj) -> int:
        return obj.revisions.order_by("created_at", "pk").values_list("pk", flat=True)[0]

    def task_state(self, obj) -> TaskState:
        state = WorkflowState.objects.for_instance(obj).get()
        assert state.current_task_state is not None
        return state.current_task_state


def _title(prefix: str, what: str) -> str:
    # "secret" is a word every title shares, so one search matches both colleges.
    return f"{prefix}校{what} secret {TAG[prefix]}"


def tenant_create(college: Institution, prefix: str, editor, reviewer) -> Tenant:
    titles = {
        key: _title(prefix, what)
        for key, what in {
            "course": "机密课程",
            "course_draft_edit": "课程草稿修订",
            "chapter": "机密章节",
            "draft_course": "草稿课程",
            "submitted_course": "送审课程",
            "resource": "公开资源",
            "resource_draft_edit": "资源草稿修订",
            "draft_resource": "草稿资源",
            "submitted_resource": "送审资源",
            "document": "机密文档",
            "image": "机密图片",
        }.items()
    }
    titles["college"] = college.name  # institution names are public
    code = {"甲": "1", "乙": "2"}[prefix]

    def resource(title: str, *, publish: bool) -> Resource:
        return services.resource_create(
            institution=college,
            title=title,
            resource_type="article",
            summary=f"{title} 摘要",
            publish=publish,
            # Publishing is the reviewers' permission; editors only draft.
            user=reviewer if publish else editor,
        )

    published_resource = resource(titles["resource"], publish=True)
    published_resource.title = titles["resource_draft_edit"]
    published_resource.save_revision(user=editor)
    published_resource.refresh_from_db()

    course = services.course_create(
        institution=college, code=f"0001{code}", title=titles["course"], user=reviewer
    )
    chapter = services.chapter_create(
        course=course, title=titles["chapter"], resources=[published_resource], user=reviewer
    )
    course.title = titles["course_draft_edit"]
    course.save_revision(user=editor)
    course.refresh_from_db()

    submitted_course = services.course_create(
        institution=college,
        code=f"0003{code}",
        title=titles["submitted_course"],
        publish=False,
        user=editor,
    )
    submitted_resource = resource(titles["submitted_resource"], publish=False)
    for obj in (submitted_course, submitted_resource):
        obj.get_workflow().start(obj, editor)

    draft_resource = resource(titles["draft_resource"], publish=False)
    # A chapter and a draft resource are locked by their own editor: the
    # locked-pages report and the unlock views have something to show.
    for model, obj in ((Page, chapter), (Resource, draft_resource)):
        model.objects.filter(pk=obj.pk).update(
            locked=True, locked_by=editor, locked_at=timezone.now()
        )
        obj.refresh_from_db()

    document = get_document_model().objects.create(
        title=titles["document"],
        file=ContentFile(b"%PDF-1.4\n%%EOF\n", name=f"tenancy-{code}.pdf"),
        collection=college.collection,
    )
    image = get_image_model().objects.create(
        title=titles["image"],
        file=get_test_image_file(filename=f"tenancy-{code}.png", size=(8, 8)),
        collection=college.collection,
    )
    return Tenant(
        college=college,
        editor=editor,
        reviewer=reviewer,
        course=course,
        chapter=chapter,
        draft_course=services.course_create(
            institution=college,
            code=f"0002{code}",
            title=titles["draft_course"],
            publish=False,
            user=editor,
        ),
        submitted_course=submitted_course,
        resource=published_resource,
        draft_resource=draft_resource,
        submitted_resource=submitted_resource,
        document=document,
        image=image,
        titles=titles,
    )


@dataclass
class World:
    a: Tenant
    b: Tenant


@pytest.fixture
def world(college_a, college_b, editor_a, reviewer_a, editor_b, settings, tmp_path) -> World:
    # Documents and images are stored on the local disk: these tests are about
    # who may see them, and object storage has its own tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    reviewer_b = make_staff(college_b, "reviewer", "reviewer_b")
    return World(
        a=tenant_create(college_a, "甲", editor_a, reviewer_a),
        b=tenant_create(college_b, "乙", editor_b, reviewer_b),
    )


def b_state() -> list[tuple]:
    """Everything about college B's content that a write could change."""
    b = Institution.objects.select_related("root_page").get(code="college-b")
    assert b.root_page is not None
    pages = Page.objects.filter(path__startswith=b.root_page.path).order_by("path")
    return [
        *pages.values_list(
            "pk",
            "path",
            "title",
            "draft_title",
            "live",
            "locked",
            "locked_by",
            "latest_revision",
            "has_unpublished_changes",
        ),
        *Resource.objects.filter(institution=b)
        .order_by("pk")
        .values_list("pk", "title", "live", "locked", "locked_by", "latest_revision"),
        *get_document_model()
        .objects.filter(collection=b.collection)
        .order_by("pk")
        .values_list("pk", "title", "collection"),
        *get_image_model()
        .objects.filter(collection=b.collection)
        .order_by("pk")
        .values_list("pk", "title", "collection"),
        *WorkflowState.objects.order_by("pk").values_list("pk", "status"),
        *TaskState.objects.order_by("pk").values_list("pk", "status"),
        ("page revisions", Revision.page_revisions.count()),
        ("pages", Page.objects.count()),
    ]


def body_of(response) -> str:
    """The body as text; JSON (modal choosers, the admin API) is re-encoded so
    that Chinese titles are not hidden behind \\u escapes."""
    body = response.content.decode()
    if response.get("Content-Type", "").startswith("application/json"):
        body = json.dumps(json.loads(body), ensure_ascii=False)
    return body


def assert_no_b_content(response, allowed: tuple[str, ...] = ()) -> None:
    body = body_of(response)
    for title in allowed:
        body = body.replace(title, "")
    pattern = "|".join([B_MARKER, *B_STAFF])
    leaked = re.findall(f".{{0,60}}(?:{pattern}).{{0,40}}", body)
    assert not leaked, f"college B content in the body: {leaked}"


# --------------------------------------------------------------------------- object views

Url = Callable[[Tenant], str]


@dataclass(frozen=True)
class Case:
    """One admin view called on one object: ``url(tenant)`` names that tenant's object."""

    name: str
    url: Url
    method: str = "get"
    data: Callable[[Client, Tenant], dict] | None = None
    actor: str = "editor"  # A's editor, or A's reviewer for views only reviewers may use
    own_status: int = 200  # what A's actor gets for A's own object
    other_status: int = 404  # what A's actor gets for B's object
    xhr: bool = False


def page_url(name: str, attr: str, *extra: Any) -> Url:
    return lambda t: reverse(f"wagtailadmin_pages:{name}", args=[getattr(t, attr).pk, *extra])


def resource_url(name: str, attr: str, *extra: Any) -> Url:
    return lambda t: reverse(
        f"wagtailsnippets_cms_resource:{name}", args=[getattr(t, attr).pk, *extra]
    )


def edit_form_data(edit_url: Url, form_id: str, **changes: str) -> Callable[[Client, Tenant], dict]:
    """The object's own edit form, as the browser would post it back."""

    def data(client: Client, tenant: Tenant) -> dict:
        response = client.get(edit_url(tenant))
        assert response.status_code == 200
        form = querydict_from_html(body_of(response), form_id=form_id).dict()
        return {**form, **changes}

    return data


page_edit = page_url("edit", "course")
resource_edit = resource_url("edit", "resource")


def page_revision(name: str, attr: str = "course") -> Url:
    return lambda t: reverse(
        f"wagtailadmin_pages:{name}",
        args=[getattr(t, attr).pk, t.first_revision_id(getattr(t, attr))],
    )


def resource_revision(name: str) -> Url:
    return lambda t: reverse(
        f"wagtailsnippets_cms_resource:{name}",
        args=[t.resource.pk, t.first_revision_id(t.resource)],
    )


def page_workflow(name: str, action: str) -> Url:
    return lambda t: reverse(
        f"wagtailadmin_pages:{name}",
        args=[t.submitted_course.pk, action, t.task_state(t.submitted_course).pk],
    )


def resource_workflow(name: str, action: str) -> Url:
    return lambda t: reverse(
        f"wagtailsnippets_cms_resource:{name}",
        args=[t.submitted_resource.pk, action, t.task_state(t.submitted_resource).pk],
    )


def ping(app_label: str, model_name: str, attr: str) -> Url:
    return lambda t: reverse(
        "wagtailadmin_editing_sessions:ping",
        args=[app_label, model_name, getattr(t, attr).pk, 0],
    )


def bulk(app_label: str, model_name: str, action: str, attr: str) -> Url:
    return lambda t: (
        reverse("wagtail_bulk_action", args=[app_label, model_name, action])
        + f"?id={getattr(t, attr).pk}"
    )


PAGE_CASES = [
    Case("explore college", lambda t: reverse("wagtailadmin_explore", args=[t.root_page_id])),
    Case(
        "explore college results",
        lambda t: reverse("wagtailadmin_explore_results", args=[t.root_page_id]),
    ),
    Case("explore course", lambda t: reverse("wagtailadmin_explore", args=[t.course.pk])),
    Case("edit", page_edit),
    Case(
        "edit: save draft",
        page_edit,
        "post",
        edit_form_data(page_edit, "page-edit-form", title="改名"),
        own_status=302,
    ),
    Case(
        "edit: publish",
        page_edit,
        "post",
        edit_form_data(page_edit, "page-edit-form", **{"action-publish": "action-publish"}),
        actor="reviewer",
        own_status=302,
    ),
    Case("unpublish", page_url("unpublish", "course"), actor="reviewer"),
    Case(
        "unpublish: confirm",
        page_url("unpublish", "course"),
        "post",
        actor="reviewer",
        own_status=302,
    ),
    Case("move", page_url("move", "draft_course")),
    Case(
        "move: confirm",
        lambda t: reverse(
            "wagtailadmin_pages:move_confirm", args=[t.draft_course.pk, t.root_page_id]
        ),
    ),
    Case(
        "move: set position",
        lambda t: (
            reverse("wagtailadmin_pages:set_page_position", args=[t.course.pk]) + "?position=0"
        ),
        "post",
        actor="reviewer",
    ),
    Case("copy", page_url("copy", "course")),
    Case(
        "copy: confirm",
        page_url("copy", "course"),
        "post",
        lambda client, t: {
            "new_title": "复制的课程",
            "new_slug": "copied-course",
            "new_parent_page": t.root_page_id,
        },
        own_status=302,
    ),
    Case("delete", page_url("delete", "draft_course")),
    Case("delete: confirm", page_url("delete", "draft_course"), "post", own_status=302),
    Case("usage", page_url("usage", "course")),
    Case(
        "add subpage",
        lambda t: reverse("wagtailadmin_pages:add_subpage", args=[t.course.pk]),
        own_status=302,  # a course takes only chapters: straight on to the add form
    ),
    Case(
        "add page",
        lambda t: reverse("wagtailadmin_pages:add", args=["cms", "chapterpage", t.course.pk]),
    ),
    Case("revisions index", page_url("revisions_index", "course"), own_status=302),
    Case("revision view", page_revision("revisions_view")),
    Case("revision revert", page_revision("revisions_revert")),
    Case("revision unschedule", page_revision("revisions_unschedule"), actor="reviewer"),
    Case(
        "revisions compare",
        lambda t: reverse(
            "wagtailadmin_pages:revisions_compare", args=[t.course.pk, "earliest", "latest"]
        ),
    ),
    Case(
        "preview on add",
        lambda t: reverse(
            "wagtailadmin_pages:preview_on_add", args=["cms", "chapterpage", t.course.pk]
        ),
    ),
    Case("history", page_url("history", "course")),
    Case("history results", page_url("history_results", "course")),
    Case("view draft", page_url("view_draft", "course")),
    Case("preview (GET)", page_url("preview_on_edit", "course")),
    Case(
        "preview (POST)",
        page_url("preview_on_edit", "course"),
        "post",
        edit_form_data(page_edit, "page-edit-form"),
    ),
    Case("privacy", page_url("set_privacy", "course"), actor="reviewer"),
    Case("lock", page_url("lock", "draft_course"), "post", own_status=302),
    Case("unlock", page_url("unlock", "chapter"), "post", own_status=302),
    Case("workflow history", page_url("workflow_history", "submitted_course")),
    Case(
        "workflow history detail",
        lambda t: reverse(
            "wagtailadmin_pages:workflow_history_detail",
            args=[
                t.submitted_course.pk,
                WorkflowState.objects.for_instance(t.submitted_course).get().pk,
            ],
        ),
    ),
    Case(
        "workflow preview",
        lambda t: reverse(
            "wagtailadmin_pages:workflow_preview",
            args=[t.submitted_course.pk, t.task_state(t.submitted_course).task_id],
        ),
        actor="reviewer",
    ),
    Case(
        "workflow action form",
        page_workflow("workflow_action", "approve"),
        actor="reviewer",
        xhr=True,
    ),
    Case(
        "workflow action: approve",
        page_workflow("workflow_action", "approve"),
        "post",
        actor="reviewer",
        own_status=302,
    ),
    Case(
        "workflow action: collect data",
        page_workflow("collect_workflow_action_data", "approve"),
        actor="reviewer",
        xhr=True,
    ),
    Case(
        "workflow cancellation",
        page_url("confirm_workflow_cancellation", "submitted_course"),
        actor="reviewer",
    ),
    Case("editing session ping", ping("wagtailcore", "page", "course"), "post"),
    Case(
        "admin API detail",
        lambda t: reverse("wagtailadmin_api:pages:detail", args=[t.course.pk]),
    ),
    Case(
        "admin API children",
        lambda t: reverse("wagtailadmin_api:pages:listing") + f"?child_of={t.root_page_id}",
        other_status=400,  # the API's answer for a parent page that does not exist
    ),
    Case(
        "page chooser: browse college",
        lambda t: reverse("wagtailadmin_choose_page_child", args=[t.root_page_id]),
    ),
    Case(
        "page chooser: chosen",
        lambda t: reverse("wagtailadmin_choose_page_chosen_multiple") + f"?id={t.course.pk}",
    ),
    Case("bulk delete", bulk("wagtailcore", "page", "delete", "draft_course")),
    Case(
        "bulk delete: confirm",
        bulk("wagtailcore", "page", "delete", "draft_course"),
        "post",
        own_status=302,
    ),
    Case("bulk publish", bulk("wagtailcore", "page", "publish", "draft_course"), actor="reviewer"),
    Case("bulk unpublish", bulk("wagtailcore", "page", "unpublish", "course"), actor="reviewer"),
    Case("bulk move", bulk("wagtailcore", "page", "move", "draft_course")),
    Case(
        "bulk delete: all children",
        lambda t: (
            reverse("wagtail_bulk_action", args=["wagtailcore", "page", "delete"])
            + f"?id=all&childOf={t.root_page_id}"
        ),
    ),
]

RESOURCE_CASES = [
    Case("edit", resource_edit),
    Case(
        "edit: save draft",
        resource_edit,
        "post",
        edit_form_data(resource_edit, "w-editor-form", title="改名"),
        own_status=302,
    ),
    Case(
        "edit: publish",
        resource_edit,
        "post",
        edit_form_data(resource_edit, "w-editor-form", **{"action-publish": "action-publish"}),
        actor="reviewer",
        own_status=302,
    ),
    Case("unpublish", resource_url("unpublish", "resource"), actor="reviewer"),
    Case(
        "unpublish: confirm",
        resource_url("unpublish", "resource"),
        "post",
        actor="reviewer",
        own_status=302,
    ),
    Case("delete", resource_url("delete", "draft_resource")),
    Case("delete: confirm", resource_url("delete", "draft_resource"), "post", own_status=302),
    Case("copy", resource_url("copy", "resource")),
    Case("usage", resource_url("usage", "resource")),
    Case("history", resource_url("history", "resource")),
    Case("history results", resource_url("history_results", "resource")),
    Case("revision view", resource_revision("revisions_view")),
    Case("revision revert", resource_revision("revisions_revert")),
    Case("revision unschedule", resource_revision("revisions_unschedule"), actor="reviewer"),
    Case(
        "revisions compare",
        lambda t: reverse(
            "wagtailsnippets_cms_resource:revisions_compare",
            args=[t.resource.pk, "earliest", "latest"],
        ),
    ),
    Case("preview (GET)", resource_url("preview_on_edit", "resource")),
    Case(
        "preview (POST)",
        resource_url("preview_on_edit", "resource"),
        "post",
        edit_form_data(resource_edit, "w-editor-form"),
    ),
    Case("lock", resource_url("lock", "resource"), "post", own_status=302),
    Case("unlock", resource_url("unlock", "draft_resource"), "post", own_status=302),
    Case("workflow history", resource_url("workflow_history", "submitted_resource")),
    Case(
        "workflow history detail",
        lambda t: reverse(
            "wagtailsnippets_cms_resource:workflow_history_detail",
            args=[
                t.submitted_resource.pk,
                WorkflowState.objects.for_instance(t.submitted_resource).get().pk,
            ],
        ),
    ),
    Case(
        "workflow preview",
        lambda t: reverse(
            "wagtailsnippets_cms_resource:workflow_preview",
            args=[t.submitted_resource.pk, t.task_state(t.submitted_resource).task_id],
        ),
        actor="reviewer",
    ),
    Case(
        "workflow action form",
        resource_workflow("workflow_action", "approve"),
        actor="reviewer",
        xhr=True,
    ),
    Case(
        "workflow action: approve",
        resource_workflow("workflow_action", "approve"),
        "post",
        actor="reviewer",
        own_status=302,
    ),
    Case(
        "workflow action: collect data",
        resource_workflow("collect_workflow_action_data", "approve"),
        actor="reviewer",
        xhr=True,
    ),
    Case(
        "workflow cancellation",
        resource_url("confirm_workflow_cancellation", "submitted_resource"),
        actor="reviewer",
    ),
    Case("editing session ping", ping("cms", "resource", "resource"), "post"),
    Case("bulk delete", bulk("cms", "resource", "delete", "draft_resource")),
    Case(
        "bulk delete: confirm",
        bulk("cms", "resource", "delete", "draft_resource"),
        "post",
        own_status=302,
    ),
    Case(
        "chooser: chosen draft",
        lambda t: reverse("wagtailsnippetchoosers_cms_resource:chosen", args=[t.draft_resource.pk]),
    ),
    Case(
        "chooser: chosen multiple",
        lambda t: (
            reverse("wagtailsnippetchoosers_cms_resource:chosen_multiple")
            + f"?id={t.draft_resource.pk}"
        ),
    ),
]

# Documents and images are scoped by Wagtail's collection permissions, one
# collection per college; Wagtail's own refusals apply: the permission-denied
# redirect, or an empty choice.
PERMISSION_DENIED = 302
NOTHING_CHOSEN = 200

MEDIA_CASES = [
    Case(
        "document edit",
        lambda t: reverse("wagtaildocs:edit", args=[t.document.pk]),
        other_status=PERMISSION_DENIED,
    ),
    Case(
        "document usage",
        lambda t: reverse("wagtaildocs:document_usage", args=[t.document.pk]),
        other_status=PERMISSION_DENIED,
    ),
    Case(
        "document chooser: chosen",
        lambda t: reverse("wagtaildocs_chooser:chosen", args=[t.document.pk]),
        other_status=PERMISSION_DENIED,
    ),
    Case(
        "document chooser: chosen multiple",
        lambda t: reverse("wagtaildocs_chooser:chosen_multiple") + f"?id={t.document.pk}",
        other_status=NOTHING_CHOSEN,
    ),
    Case("document bulk delete", bulk("wagtaildocs", "document", "delete", "document")),
    Case(
        "image edit",
        lambda t: reverse("wagtailimages:edit", args=[t.image.pk]),
        other_status=PERMISSION_DENIED,
    ),
    Case(
        "image chooser: chosen",
        lambda t: reverse("wagtailimages_chooser:chosen", args=[t.image.pk]),
        other_status=PERMISSION_DENIED,
    ),
    Case(
        "image chooser: chosen multiple",
        lambda t: reverse("wagtailimages_chooser:chosen_multiple") + f"?id={t.image.pk}",
        other_status=NOTHING_CHOSEN,
    ),
    Case("image bulk delete", bulk("wagtailimages", "image", "delete", "image")),
    # Wagtail's admin API serves documents and images by collection privacy
    # alone; cms/admin_tenancy.py scopes them like the choosers.
    Case(
        "document admin API detail",
        lambda t: reverse("wagtailadmin_api:documents:detail", args=[t.document.pk]),
    ),
    Case(
        "image admin API detail",
        lambda t: reverse("wagtailadmin_api:images:detail", args=[t.image.pk]),
    ),
]

OBJECT_CASES = [
    *(pytest.param(case, id=f"page {case.name}") for case in PAGE_CASES),
    *(pytest.param(case, id=f"resource {case.name}") for case in RESOURCE_CASES),
    *(pytest.param(case, id=case.name) for case in MEDIA_CASES),
]


def call(client: Client, case: Case, tenant: Tenant, data: dict | None = None):
    headers = {"x-requested-with": "XMLHttpRequest"} if case.xhr else {}
    if case.method == "post":
        return client.post(case.url(tenant), data or {}, headers=headers)
    return client.get(case.url(tenant), headers=headers)


def actor_of(case: Case, tenant: Tenant):
    return tenant.reviewer if case.actor == "reviewer" else tenant.editor


@pytest.mark.parametrize("case", OBJECT_CASES)
def test_staff_cannot_reach_another_colleges_object(case, world, client_for):
    client = client_for(actor_of(case, world.a))
    # Form data is taken from A's own edit form: a well-formed request that
    # differs from a real attack only in the id it names.
    data = case.data(client, world.a) if case.data else None
    before = b_state()

    response = call(client, case, world.b, data)

    assert response.status_code == case.other_status
    if case.other_status == PERMISSION_DENIED:
        assert response["Location"] == reverse("wagtailadmin_home")
    if case.other_status == NOTHING_CHOSEN:
        assert json.loads(response.content)["result"] == []
    assert_no_b_content(response)
    assert b_state() == before


@pytest.mark.parametrize("case", OBJECT_CASES)
def test_same_view_serves_own_college(case, world, client_for):
    client = client_for(actor_of(case, world.a))
    data = case.data(client, world.a) if case.data else None

    response = call(client, case, world.a, data)

    assert response.status_code == case.own_status, response.get("Location")
    if response.status_code == 302:  # done and redirected, not refused
        assert response["Location"] != reverse("wagtailadmin_home")
    assert_no_b_content(response)


# --------------------------------------------------------------------------- site-wide views


@dataclass(frozen=True)
class Listing:
    """A view that lists content across the site; ``shows`` is a title of A's
    that must appear, the positive control that the view lists at all."""

    name: str
    url: Callable[[World], str]
    shows: Callable[[World], str]
    actor: str = "editor"
    follow: bool = False
    allowed_from_b: tuple[str, ...] = ()  # B's titles this view may show by design


def own(key: str) -> Callable[[World], str]:
    return lambda w: w.a.titles[key]


def search(url_name: str, query: str = "secret") -> Callable[[World], str]:
    return lambda w: f"{reverse(url_name)}?q={query}"


def home_page() -> Page:
    return Page.objects.get(depth=2)


# Other colleges' published resources may be chosen (reused) by design.
CHOOSABLE_FROM_B = ("resource",)

LISTINGS = [
    Listing("dashboard", lambda w: reverse("wagtailadmin_home"), own("submitted_course")),
    Listing(
        "dashboard: awaiting review",
        lambda w: reverse("wagtailadmin_home"),
        own("submitted_resource"),
        actor="reviewer",
    ),
    # An editor's explorer starts at their college: Wagtail redirects there.
    Listing(
        "explorer: root",
        lambda w: reverse("wagtailadmin_explore_root"),
        own("course_draft_edit"),
        follow=True,
    ),
    Listing(
        "explorer: home",
        lambda w: reverse("wagtailadmin_explore", args=[home_page().pk]),
        own("course_draft_edit"),
        follow=True,
    ),
    Listing(
        "explorer: search whole tree",
        lambda w: (
            reverse("wagtailadmin_explore", args=[w.a.root_page_id]) + "?q=secret&search_all=1"
        ),
        own("chapter"),
    ),
    Listing("page search", search("wagtailadmin_pages:search"), own("course_draft_edit")),
    Listing(
        "page search results",
        search("wagtailadmin_pages:search_results"),
        own("submitted_course"),
    ),
    Listing(
        "page search: drafts only",
        search("wagtailadmin_pages:search", "secret live:no"),
        own("draft_course"),
    ),
    Listing(
        "page type usage",
        lambda w: reverse("wagtailadmin_pages:type_use", args=["cms", "coursepage"]),
        own("draft_course"),
    ),
    Listing(
        "page chooser: root",
        lambda w: reverse("wagtailadmin_choose_page"),
        lambda w: home_page().title,
    ),
    Listing(
        "page chooser: home",
        lambda w: reverse("wagtailadmin_choose_page_child", args=[home_page().pk]),
        own("college"),
    ),
    Listing(
        "page chooser: courses",
        lambda w: reverse("wagtailadmin_choose_page") + "?page_type=cms.coursepage",
        own("college"),
    ),
    Listing(
        "page chooser: search",
        search("wagtailadmin_choose_page_search"),
        own("course_draft_edit"),
    ),
    Listing(
        "admin API: pages",
        lambda w: reverse("wagtailadmin_api:pages:listing") + "?limit=100",
        own("course"),
    ),
    Listing(
        "admin API: search",
        lambda w: reverse("wagtailadmin_api:pages:listing") + "?search=secret",
        own("course"),
    ),
    Listing(
        "resources",
        lambda w: reverse("wagtailsnippets_cms_resource:list"),
        own("draft_resource"),
    ),
    Listing(
        "resources: search",
        search("wagtailsnippets_cms_resource:list_results"),
        own("submitted_resource"),
    ),
    Listing(
        "resources: drafts filter",
        lambda w: reverse("wagtailsnippets_cms_resource:list_results") + "?live=false",
        own("draft_resource"),
    ),
    Listing(
        "reports: locked pages",
        lambda w: reverse("wagtailadmin_reports:locked_pages"),
        own("chapter"),
        actor="reviewer",  # the report is for those who may unlock
    ),
    Listing(
        "reports: aging pages",
        lambda w: reverse("wagtailadmin_reports:aging_pages"),
        own("chapter"),
        actor="reviewer",  # the report is for those who may publish
    ),
    Listing(
        "reports: site history",
        lambda w: reverse("wagtailadmin_reports:site_history"),
        own("submitted_resource"),
    ),
    Listing(
        "reports: site history search",
        lambda w: reverse("wagtailadmin_reports:site_history_results") + "?label=secret",
        own("submitted_resource"),
    ),
    Listing(
        "reports: workflows",
        lambda w: reverse("wagtailadmin_reports:workflow"),
        own("submitted_resource"),
    ),
    Listing(
        "reports: workflow tasks",
        lambda w: reverse("wagtailadmin_reports:workflow_tasks"),
        own("submitted_resource"),
    ),
    Listing(
        "reports: page types usage",
        lambda w: reverse("wagtailadmin_reports:page_types_usage"),
        own("draft_course"),
    ),
    Listing(
        "resource chooser",
        lambda w: reverse("wagtailsnippetchoosers_cms_resource:choose"),
        own("draft_resource"),
        allowed_from_b=CHOOSABLE_FROM_B,
    ),
    Listing(
        "resource chooser: search",
        search("wagtailsnippetchoosers_cms_resource:choose_results"),
        own("draft_resource"),
        allowed_from_b=CHOOSABLE_FROM_B,
    ),
    Listing("documents", lambda w: reverse("wagtaildocs:index"), own("document")),
    Listing(
        "document chooser",
        lambda w: reverse("wagtaildocs_chooser:choose"),
        own("document"),
    ),
    Listing(
        "document chooser: search",
        search("wagtaildocs_chooser:choose_results"),
        own("document"),
    ),
    Listing(
        "admin API: documents",
        lambda w: reverse("wagtailadmin_api:documents:listing"),
        own("document"),
    ),
    Listing(
        "admin API: documents search",
        lambda w: reverse("wagtailadmin_api:documents:listing") + "?search=secret",
        own("document"),
    ),
    Listing("images", lambda w: reverse("wagtailimages:index"), own("image")),
    Listing(
        "admin API: images",
        lambda w: reverse("wagtailadmin_api:images:listing"),
        own("image"),
    ),
    Listing("image chooser", lambda w: reverse("wagtailimages_chooser:choose"), own("image")),
    # "Select all in listing" sends id=all: Wagtail then takes every object of
    # the model (or every page under childOf, searched with q).
    Listing(
        "bulk delete: all resources",
        lambda w: reverse("wagtail_bulk_action", args=["cms", "resource", "delete"]) + "?id=all",
        own("draft_resource"),
    ),
    Listing(
        "bulk delete: all pages a search finds",
        lambda w: (
            reverse("wagtail_bulk_action", args=["wagtailcore", "page", "delete"])
            + f"?id=all&childOf={home_page().pk}&q=secret"
        ),
        own("draft_course"),
    ),
]


@pytest.mark.parametrize("listing", [pytest.param(item, id=item.name) for item in LISTINGS])
def test_site_wide_views_list_only_own_college(listing, world, client_for):
    actor = world.a.reviewer if listing.actor == "reviewer" else world.a.editor

    response = client_for(actor).get(listing.url(world), follow=listing.follow)

    assert response.status_code == 200
    assert listing.shows(world) in body_of(response)
    assert_no_b_content(
        response, allowed=tuple(world.b.titles[key] for key in listing.allowed_from_b)
    )


# --------------------------------------------------------------------------- reuse and moderation


def test_resource_chooser_offers_other_colleges_published_resources(world, client_for):
    client = client_for(world.a.editor)

    listing = body_of(client.get(reverse("wagtailsnippetchoosers_cms_resource:choose")))
    chosen = client.get(
        reverse("wagtailsnippetchoosers_cms_resource:chosen", args=[world.b.resource.pk])
    )

    assert world.b.titles["resource"] in listing
    assert world.b.titles["draft_resource"] not in listing
    assert chosen.status_code == 200
    assert json.loads(chosen.content)["result"]["id"] == str(world.b.resource.pk)


def _chapter_form(client: Client, chapter: ChapterPage, resource: Resource) -> dict:
    url = reverse("wagtailadmin_pages:edit", args=[chapter.pk])
    form = querydict_from_html(body_of(client.get(url)), form_id="page-edit-form").dict()
    form["chapter_resources-0-resource"] = str(resource.pk)
    return form


def test_editor_attaches_another_colleges_published_resource(world, client_for):
    client = client_for(world.a.editor)
    chapter = world.a.chapter

    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[chapter.pk]),
        _chapter_form(client, chapter, world.b.resource),
    )

    assert response.status_code == 302
    draft = ChapterPage.objects.get(pk=chapter.pk).get_latest_revision_as_object()
    assert [row.resource_id for row in draft.chapter_resources.all()] == [world.b.resource.pk]


# The chooser offers only choosable resources, but the form field behind it
# accepts any posted id; the admin forms narrow it (tenancy.limit_form_choices).


def test_editor_cannot_attach_another_colleges_draft_resource(world, client_for):
    client = client_for(world.a.editor)
    chapter = world.a.chapter
    revision_before = ChapterPage.objects.get(pk=chapter.pk).latest_revision_id

    response = client.post(
        reverse("wagtailadmin_pages:edit", args=[chapter.pk]),
        _chapter_form(client, chapter, world.b.draft_resource),
    )

    assert response.status_code == 200  # the form comes back with an error
    assert ChapterPage.objects.get(pk=chapter.pk).latest_revision_id == revision_before
    assert_no_b_content(response)


def _media_asset(college: Institution, prefix: str) -> MediaAsset:
    return MediaAsset.objects.create(
        institution=college,
        source=f"media/{college.pk}/sources/{prefix}.mp4",
        original_filename=f"{prefix}校机密视频 secret.mp4",
        sha256=(prefix.encode().hex() * 64)[:64],
        container="mp4",
        size_bytes=1,
    )


def test_resource_form_offers_only_own_media_assets(world, client_for):
    own = _media_asset(world.a.college, "甲")
    _media_asset(world.b.college, "乙")

    response = client_for(world.a.editor).get(reverse("wagtailsnippets_cms_resource:add"))

    assert response.status_code == 200
    assert own.original_filename in body_of(response)
    assert_no_b_content(response)


def test_editor_cannot_give_a_resource_another_colleges_document(world, client_for):
    """The document chooser offers only A's collection; a posted id of B's
    document is refused by the form, and nothing stored changes."""
    client = client_for(world.a.editor)
    resource = world.a.draft_resource
    url = reverse("wagtailsnippets_cms_resource:edit", args=[resource.pk])
    form = querydict_from_html(body_of(client.get(url)), form_id="w-editor-form").dict()
    before = b_state()

    response = client.post(url, {**form, "document": str(world.b.document.pk)})

    assert response.status_code == 200  # the form again, with the error
    assert "document" in response.context["form"].errors
    assert_no_b_content(response)
    resource.refresh_from_db()
    assert resource.document_id != world.b.document.pk
    assert resource.latest_revision.content.get("document") != world.b.document.pk
    assert b_state() == before


def _rich_text_linking(document_id: int) -> str:
    """The Draftail editor's contentstate for one link to a document, as posted."""
    return json.dumps(
        {
            "blocks": [
                {
                    "key": "a",
                    "text": "讲义",
                    "type": "unstyled",
                    "depth": 0,
                    "inlineStyleRanges": [],
                    "entityRanges": [{"offset": 0, "length": 2, "key": 0}],
                    "data": {},
                }
            ],
            "entityMap": {
                "0": {"type": "DOCUMENT", "mutability": "MUTABLE", "data": {"id": document_id}}
            },
        }
    )


@pytest.mark.parametrize("whose", ["b", "a"])
def test_rich_text_may_link_only_own_colleges_documents(whose, world, client_for):
    """A hand-made POST can name any document id in rich text, past the
    chooser: another college's is refused, the editor's own is kept."""
    client = client_for(world.a.editor)
    resource = world.a.draft_resource
    url = reverse("wagtailsnippets_cms_resource:edit", args=[resource.pk])
    form = querydict_from_html(body_of(client.get(url)), form_id="w-editor-form").dict()
    document = getattr(world, whose).document

    response = client.post(url, {**form, "body": _rich_text_linking(document.pk)})

    resource.refresh_from_db()
    stored = f'linktype="document" id="{document.pk}"'
    if whose == "b":
        assert response.status_code == 200  # the form again, with the error
        assert "body" in response.context["form"].errors
        assert_no_b_content(response)
        assert stored not in resource.latest_revision.content["body"]
    else:
        assert response.status_code == 302
        assert stored in resource.latest_revision.content["body"]


def test_limit_form_choices_narrows_chapter_resources(world):
    chapter = world.a.chapter
    form_class = ChapterPage.get_edit_handler().get_form_class()
    form = form_class(instance=chapter, parent_page=chapter.get_parent(), for_user=world.a.editor)

    tenancy.limit_form_choices(form, world.a.editor)

    choices = form.formsets["chapter_resources"].forms[0].fields["resource"].queryset
    assert set(choices.values_list("pk", flat=True)) == {
        world.a.resource.pk,
        world.a.draft_resource.pk,
        world.a.submitted_resource.pk,
        world.b.resource.pk,  # published: reusable by design
    }


def test_limit_form_choices_narrows_resource_media_and_owner(world):
    own = _media_asset(world.a.college, "甲")
    _media_asset(world.b.college, "乙")
    form = get_edit_handler(Resource).get_form_class()(for_user=world.a.editor)

    tenancy.limit_form_choices(form, world.a.editor)

    assert list(form.fields["media_asset"].queryset) == [own]
    assert list(form.fields["institution"].queryset) == [world.a.college]
    assert list(form.fields["document"].queryset) == [world.a.document]


def test_editor_cannot_move_own_page_into_another_college(world, client_for):
    url = reverse(
        "wagtailadmin_pages:move_confirm", args=[world.a.draft_course.pk, world.b.root_page_id]
    )
    before = b_state()

    response = client_for(world.a.editor).post(url)

    assert response.status_code == 404
    assert b_state() == before


def test_editor_cannot_copy_own_page_into_another_college(world, client_for):
    before = b_state()

    response = client_for(world.a.editor).post(
        reverse("wagtailadmin_pages:copy", args=[world.a.course.pk]),
        {"new_title": "复制", "new_slug": "copied", "new_parent_page": world.b.root_page_id},
    )

    assert response.status_code == 200  # the form, with "no permission to add here"
    assert_no_b_content(response)
    assert b_state() == before


def _admin_api_action(client: Client, page: Page, action: str, body: dict):
    return client.post(
        reverse("wagtailadmin_api:pages:action", args=[page.pk, action]),
        json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize("action", ["copy", "move"])
def test_admin_api_cannot_copy_or_move_own_page_into_another_college(action, world, client_for):
    """The admin API's page actions (what the explorer's drag and drop uses)."""
    client = client_for(world.a.reviewer)
    before = b_state()

    response = _admin_api_action(
        client, world.a.draft_course, action, {"destination_page_id": world.b.root_page_id}
    )

    assert response.status_code in (403, 404)
    assert_no_b_content(response)
    assert b_state() == before
    # The same action within A's own subtree works: the refusal is about B.
    # (A course may live only under its college: a move reorders it there.)
    inside_a = (
        {"destination_page_id": world.a.course.pk, "position": "right"}
        if action == "move"
        else {"destination_page_id": world.a.root_page_id}
    )
    response = _admin_api_action(client, world.a.draft_course, action, inside_a)
    assert response.status_code in (200, 201), body_of(response)


def test_admin_api_cannot_unpublish_another_colleges_page(world, client_for):
    before = b_state()

    response = _admin_api_action(client_for(world.a.reviewer), world.b.course, "unpublish", {})

    assert response.status_code == 404
    assert b_state() == before


@pytest.mark.parametrize(
    ("url_name", "attr"),
    [
        ("wagtailadmin_pages:workflow_action", "submitted_course"),
        ("wagtailsnippets_cms_resource:workflow_action", "submitted_resource"),
    ],
    ids=["page", "resource"],
)
def test_reviewer_cannot_approve_another_colleges_task_through_own_object(
    url_name, attr, world, client_for
):
    """Wagtail's workflow-action view checks the reviewer against the object in
    the URL, then acts on the task state in the URL, without checking that the
    two belong together. Approving B's resource this way would publish it."""
    own, other = getattr(world.a, attr), getattr(world.b, attr)
    other_state = world.b.task_state(other)
    url = reverse(url_name, args=[own.pk, "approve", other_state.pk])
    before = b_state()

    response = client_for(world.a.reviewer).post(url)

    assert response.status_code == 404
    assert b_state() == before
    other_state.refresh_from_db()
    assert other_state.status == TaskState.STATUS_IN_PROGRESS
    assert world.a.task_state(own).status == TaskState.STATUS_IN_PROGRESS


def test_reviewer_cannot_approve_another_colleges_task_directly(world):
    """The task itself refuses, whatever view called it."""
    state = world.b.task_state(world.b.submitted_resource)

    with pytest.raises(PermissionDenied):
        state.task.specific.on_action(state, world.a.reviewer, "approve")

    state.refresh_from_db()
    assert state.status == TaskState.STATUS_IN_PROGRESS


def test_usage_of_own_resource_hides_other_colleges_chapters(world, client_for):
    """B may reuse A's published resource; A's usage view then counts B's
    chapter without naming it."""
    services.chapter_create(
        course=world.b.course,
        title=_title("乙", "引用章节"),
        resources=[world.a.resource],
        publish=False,
        user=world.b.editor,
    )

    response = client_for(world.a.editor).get(
        reverse("wagtailsnippets_cms_resource:usage", args=[world.a.resource.pk])
    )

    assert response.status_code == 200
    assert world.a.titles["chapter"] in body_of(response)
    assert "(Private 页面)" in body_of(response)  # Wagtail's label, half translated
    assert_no_b_content(response)


def test_ids_that_are_not_ids_are_refused(world, client_for):
    """An id the guard cannot look up is refused, never waved through unchecked."""
    url = reverse("wagtailsnippetchoosers_cms_resource:chosen_multiple")

    response = client_for(world.a.editor).get(f"{url}?id={world.a.resource.pk}&id=not-an-id")

    assert response.status_code == 404


def test_reviewer_queue_holds_only_own_college(world):
    queue = TaskState.objects.reviewable_by(world.a.reviewer)

    assert set(queue.values_list("pk", flat=True)) == {
        world.a.task_state(world.a.submitted_course).pk,
        world.a.task_state(world.a.submitted_resource).pk,
    }


def test_network_admin_sees_every_college(world, client_for):
    admin = get_user_model().objects.create_superuser("network_admin", password="pw-123456789")
    client = client_for(admin)

    listing = body_of(client.get(reverse("wagtailsnippets_cms_resource:list")))
    history = body_of(client.get(reverse("wagtailadmin_reports:site_history")))
    edit = client.get(
        reverse("wagtailsnippets_cms_resource:edit", args=[world.b.draft_resource.pk])
    )

    assert world.a.titles["draft_resource"] in listing
    assert world.b.titles["draft_resource"] in listing
    assert world.b.titles["submitted_resource"] in history
    assert edit.status_code == 200
