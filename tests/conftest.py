"""Shared fixtures: a small network of two colleges, their staff, and a client per role.

Tests run against the real servers started by ``scripts/services up``; the
database is PostgreSQL (settings.test refuses anything else).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from cms import services
from cms.api import response_cache
from cms.models import Institution


@pytest.fixture(scope="session")
def committed_db(django_db_setup, django_db_blocker):
    """The test database, for rows committed so that another process (a
    server, a worker) sees them. pytest-django creates it only when some
    collected test is marked for the database; a run of just such tests would
    otherwise write to the database DATABASE_URL names."""
    from django.db import connection
    from django.test.utils import setup_databases

    if not connection.settings_dict["NAME"].startswith("test_"):
        with django_db_blocker.unblock():
            setup_databases(verbosity=0, interactive=False, keepdb=True, aliases={"default"})
    assert connection.settings_dict["NAME"].startswith("test_")


@pytest.fixture(autouse=True)
def _fresh_api_responses():
    """Each test's rolled-back data must not be answered from the cache of an
    earlier test: a rollback sends no signal, so start a new generation."""
    response_cache.generation_replace()


@pytest.fixture
def local_store(settings, tmp_path):
    """The quick start's object storage: files under MEDIA_ROOT, URLs signed
    and served by the app (media_pipeline/storage/local.py)."""
    from media_pipeline import storage

    settings.S3_BUCKET = ""
    settings.MEDIA_ROOT = tmp_path / "media-root"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    chosen = storage.store()
    assert isinstance(chosen, storage.LocalStore)
    chosen.prepare()
    return chosen


@pytest.fixture
def home(db):
    return services.network_ensure()


def _college(home, code: str, name: str) -> Institution:
    return services.institution_ensure(
        code=code, name=name, kind=Institution.Kind.PARTNER_COLLEGE, home=home
    )


@pytest.fixture
def college_a(home) -> Institution:
    return _college(home, "college-a", "甲职业学院")


@pytest.fixture
def college_b(home) -> Institution:
    return _college(home, "college-b", "乙职业学院")


def make_staff(institution: Institution, role: str, username: str):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123")
    group = institution.editors_group if role == "editor" else institution.reviewers_group
    assert group is not None
    user.groups.add(group)
    return user


@pytest.fixture
def editor_a(college_a):
    return make_staff(college_a, "editor", "editor_a")


@pytest.fixture
def reviewer_a(college_a):
    return make_staff(college_a, "reviewer", "reviewer_a")


@pytest.fixture
def editor_b(college_b):
    return make_staff(college_b, "editor", "editor_b")


@pytest.fixture
def client_for(client):
    """Log ``client`` in as a user: ``client_for(editor_a).get(...)``."""

    def login(user):
        client.force_login(user)
        return client

    return login
