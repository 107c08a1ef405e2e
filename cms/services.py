"""Writes: the network's structure and the catalogue load.

Services are keyword-only and idempotent where a loader calls them, so running
a loader twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.models import (
    Collection,
    GroupCollectionPermission,
    GroupPagePermission,
    Page,
    Site,
    Workflow,
    WorkflowContentType,
    WorkflowPage,
    WorkflowTask,
)

from cms import loading
from cms.models import (
    ChapterPage,
    CollegePage,
    CollegeReviewTask,
    CoursePage,
    HomePage,
    Institution,
    Major,
    MajorCourse,
    Resource,
)
from cms.models import (
    ChapterResource as ChapterResourceRow,
)
from cms.tenancy import NETWORK_ADMINS_GROUP

CATALOG_PATH = Path(__file__).resolve().parent / "fixtures" / "catalog.json"
WORKFLOW_NAME = "院校审核 College review"

# Page permissions on the institution's own subtree. Editors draft and submit;
# reviewers also publish. Neither may bulk-delete a course with its chapters.
EDITOR_PAGE_PERMISSIONS = ("add", "change", "lock")
REVIEWER_PAGE_PERMISSIONS = ("add", "change", "lock", "publish", "unlock")
EDITOR_RESOURCE_PERMISSIONS = (
    "add_resource",
    "change_resource",
    "delete_resource",
    "lock_resource",
)
REVIEWER_RESOURCE_PERMISSIONS = (
    *EDITOR_RESOURCE_PERMISSIONS,
    "publish_resource",
    "unlock_resource",
)
COLLECTION_PERMISSIONS = (
    ("wagtaildocs", "add_document"),
    ("wagtaildocs", "change_document"),
    ("wagtaildocs", "choose_document"),
    ("wagtailimages", "add_image"),
    ("wagtailimages", "change_image"),
    ("wagtailimages", "choose_image"),
)


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, *, created: bool) -> None:
        bucket = self.created if created else self.existing
        bucket[kind] = bucket.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created)


def _permission(app_label: str, codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def network_ensure() -> HomePage:
    """The home page, the default site, the review workflow, the admins group."""
    home = HomePage.objects.first()
    if home is None:
        root = Page.get_first_root_node()
        # Wagtail's initial migration leaves a placeholder welcome page; the
        # network's home replaces it as the default site's root.
        for placeholder in root.get_children().exact_type(Page):
            Site.objects.filter(root_page=placeholder).delete()
            placeholder.delete()
        home = HomePage(title="皖学课程网络", slug="wanxue", live=True)
        root.add_child(instance=home)
        loading.revisions_publish([home])
    Site.objects.update_or_create(
        is_default_site=True,
        defaults={"hostname": "localhost", "port": 80, "root_page": home, "site_name": "皖学"},
    )
    admins, _ = Group.objects.get_or_create(name=NETWORK_ADMINS_GROUP)
    admins.permissions.add(_permission("wagtailadmin", "access_admin"))
    workflow_ensure(home)
    return home


def workflow_ensure(home: HomePage) -> Workflow:
    workflow, _ = Workflow.objects.get_or_create(name=WORKFLOW_NAME, defaults={"active": True})
    task, _ = CollegeReviewTask.objects.get_or_create(name="院校审核员审核")
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.get_or_create(page=home, defaults={"workflow": workflow})
    WorkflowContentType.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Resource), defaults={"workflow": workflow}
    )
    return workflow


def institution_ensure(
    *, code: str, name: str, kind: str, home: HomePage, report: LoadReport | None = None
) -> Institution:
    """An institution with its groups, collection, page subtree and permissions."""
    institution, created = Institution.objects.get_or_create(
        code=code, defaults={"name": name, "kind": kind}
    )
    if report is not None:
        report.count("institutions", created=created)
    if (institution.name, institution.kind) != (name, kind):
        institution.name, institution.kind = name, kind
        institution.save(update_fields=["name", "kind"])
    if (
        institution.editors_group
        and institution.reviewers_group
        and institution.collection
        and (institution.root_page)
    ):
        return institution  # fully set up by an earlier run
    if institution.editors_group is None:
        institution.editors_group, _ = Group.objects.get_or_create(name=f"{name} 编辑")
    if institution.reviewers_group is None:
        institution.reviewers_group, _ = Group.objects.get_or_create(name=f"{name} 审核")
    if institution.collection is None:
        institution.collection = Collection.get_first_root_node().add_child(name=name)
    if institution.root_page is None:
        college_page = CollegePage(title=name, slug=code, institution=institution, live=True)
        home.add_child(instance=college_page)
        loading.revisions_publish([college_page])
        institution.root_page = college_page
    institution.save()
    _grant_permissions(institution)
    return institution


def _grant_permissions(institution: Institution) -> None:
    editors, reviewers = institution.editors_group, institution.reviewers_group
    assert editors is not None and reviewers is not None and institution.root_page is not None
    access_admin = _permission("wagtailadmin", "access_admin")
    for group, page_permissions, resource_permissions in (
        (editors, EDITOR_PAGE_PERMISSIONS, EDITOR_RESOURCE_PERMISSIONS),
        (reviewers, REVIEWER_PAGE_PERMISSIONS, REVIEWER_RESOURCE_PERMISSIONS),
    ):
        group.permissions.add(access_admin)
        for codename in resource_permissions:
            group.permissions.add(_permission("cms", codename))
        for permission_type in page_permissions:
            permission = _permission("wagtailcore", f"{permission_type}_page")
            GroupPagePermission.objects.get_or_create(
                group=group, page=institution.root_page, permission=permission
            )
        for app_label, codename in COLLECTION_PERMISSIONS:
            GroupCollectionPermission.objects.get_or_create(
                group=group,
                collection=institution.collection,
                permission=_permission(app_label, codename),
            )


def catalog_read(path: Path = CATALOG_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        catalog: dict[str, Any] = json.load(handle)
    return catalog


def course_owner_codes(catalog: dict[str, Any]) -> dict[str, str]:
    """Which partner college authors each course.

    The catalogue says which courses exist, not who teaches them, so courses
    are dealt out to the partner colleges in code order: deterministic, and
    each college gets ten or eleven courses to author.
    """
    colleges = [college["code"] for college in catalog["partner_colleges"]]
    codes = sorted(course["code"] for course in catalog["courses"])
    return {code: colleges[index % len(colleges)] for index, code in enumerate(codes)}


@transaction.atomic
def catalog_load(
    *, catalog: dict[str, Any], progress: Callable[[int], None] | None = None
) -> LoadReport:
    """Load institutions, courses with their real chapter outlines, and majors
    with their course plans. Re-running it changes nothing."""
    report = LoadReport()
    home = network_ensure()
    institutions: dict[str, Institution] = {}
    for kind, entries in (
        (Institution.Kind.EXAM_UNIVERSITY, catalog["exam_universities"]),
        (Institution.Kind.PARTNER_COLLEGE, catalog["partner_colleges"]),
    ):
        for entry in entries:
            institutions[entry["code"]] = institution_ensure(
                code=entry["code"], name=entry["name"], kind=kind, home=home, report=report
            )
            if progress:
                progress(1)

    owners = course_owner_codes(catalog)
    existing_courses = {course.code: course for course in CoursePage.objects.all()}
    courses: dict[str, CoursePage] = {}
    new_pages: list[Page] = []
    for entry in catalog["courses"]:
        course = existing_courses.get(entry["code"])
        report.count("courses", created=course is None)
        if course is None:
            institution = institutions[owners[entry["code"]]]
            course = CoursePage(
                title=entry["name"],
                slug=f"course-{entry['code']}",
                code=entry["code"],
                credits=entry["credits"],
                is_public_course=entry["public"],
                institution=institution,
                live=True,
            )
            assert institution.root_page is not None
            institution.root_page.add_child(instance=course)
            new_pages.append(course)
            for number, chapter_title in enumerate(entry["chapters"], start=1):
                chapter = ChapterPage(
                    title=chapter_title,
                    slug=f"chapter-{number}",
                    institution=institution,
                    live=True,
                )
                course.add_child(instance=chapter)
                new_pages.append(chapter)
                report.count("chapters", created=True)
        courses[entry["code"]] = course
        if progress:
            progress(1)
    for model in (CoursePage, ChapterPage):
        loading.revisions_publish([page for page in new_pages if isinstance(page, model)])

    for entry in catalog["majors"]:
        major, created = Major.objects.get_or_create(
            code=entry["code"],
            defaults={
                "name": entry["name"],
                "level": entry["level"],
                "institution": institutions[entry["exam_university"]],
            },
        )
        report.count("majors", created=created)
        if created:
            MajorCourse.objects.bulk_create(
                MajorCourse(major=major, course=courses[code], sort_order=order)
                for order, code in enumerate(entry["courses"])
            )
            major.save_revision()
        if progress:
            progress(1)
    return report


def catalog_size(catalog: dict[str, Any]) -> int:
    """Progress steps of ``catalog_load``: one per institution, course and major."""
    return (
        len(catalog["exam_universities"])
        + len(catalog["partner_colleges"])
        + len(catalog["courses"])
        + len(catalog["majors"])
    )


def course_create(
    *,
    institution: Institution,
    code: str,
    title: str,
    credits: int = 0,
    publish: bool = True,
    user: Any = None,
) -> CoursePage:
    """A course in the institution's subtree, published or left as a draft."""
    assert institution.root_page is not None
    course = CoursePage(
        title=title,
        slug=f"course-{code}",
        code=code,
        credits=credits,
        institution=institution,
        live=False,
    )
    institution.root_page.add_child(instance=course)
    revision = course.save_revision(user=user)
    if publish:
        revision.publish(user=user)
    return course


def chapter_create(
    *,
    course: CoursePage,
    title: str,
    resources: list[Resource] | tuple[Resource, ...] = (),
    publish: bool = True,
    user: Any = None,
) -> ChapterPage:
    """A chapter at the end of the course, referencing ``resources`` in order."""
    chapter = ChapterPage(
        title=title,
        slug=f"chapter-{course.get_children_count() + 1}",
        institution_id=course.institution_id,
        live=False,
    )
    for order, resource in enumerate(resources):
        chapter.chapter_resources.add(ChapterResourceRow(resource=resource, sort_order=order))
    course.add_child(instance=chapter)
    revision = chapter.save_revision(user=user)
    if publish:
        revision.publish(user=user)
    return chapter


def resource_create(
    *,
    institution: Institution,
    title: str,
    resource_type: str,
    summary: str = "",
    publish: bool = True,
    user: Any = None,
    **fields: Any,
) -> Resource:
    resource = Resource(
        institution=institution,
        title=title,
        resource_type=resource_type,
        summary=summary,
        live=False,
        **fields,
    )
    resource.full_clean()
    resource.save()
    revision = resource.save_revision(user=user)
    if publish:
        revision.publish(user=user)
    return resource
