"""Fixtures for the API tests: published content built through the services."""

from __future__ import annotations

import itertools

import pytest

from cms import services
from cms.models import CoursePage, Resource, ResourceType

_numbers = itertools.count(1)


@pytest.fixture
def api(client):
    """The Django test client, anonymous: the API serves public content to anyone."""
    return client


@pytest.fixture
def make_resource(college_a):
    def make(*, institution=None, title=None, publish=True, **fields) -> Resource:
        fields.setdefault("resource_type", ResourceType.VIDEO)
        resource = services.resource_create(
            institution=institution or college_a,
            title=title or f"资源 {next(_numbers)}",
            publish=publish,
            **fields,
        )
        # Fresh from the database: publishing went through another instance.
        return Resource.objects.get(pk=resource.pk)

    return make


@pytest.fixture
def bulk_resources(college_a):
    """``count`` live resources in one INSERT: for query-count tests, where
    what matters is how many rows a request serialises, not how they were made."""

    def make(count: int, *, institution=None, **fields) -> list[Resource]:
        fields.setdefault("resource_type", ResourceType.DOCUMENT)
        return Resource.objects.bulk_create(
            Resource(
                institution=institution or college_a,
                title=f"批量资源 {index:04d}",
                live=True,
                **fields,
            )
            for index in range(count)
        )

    return make


@pytest.fixture
def course_a(college_a):
    course = services.course_create(
        institution=college_a, code="00015", title="英语（二）", credits=14
    )
    # Fresh from the database: publishing went through another instance.
    return CoursePage.objects.get(pk=course.pk)


@pytest.fixture(autouse=True)
def no_anonymous_rate_limit(settings):
    # Every test client is 127.0.0.1: a shared per-IP count would make tests
    # depend on each other. test_access.py turns limits on where it tests them.
    settings.WANXUE_API_ANON_RATE_PER_MINUTE = 0
