"""Browser tests: Debian's Chromium, driven by Playwright, against the app
running as a real server process on the test database.

Rows the server must see are committed (not a transactional test: its flush
would empty the reused test database for every later test) under one
institution of their own, and removed again afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from cms.models import Institution, Resource
from media_pipeline import pipeline, storage
from media_pipeline.models import MediaAsset, OutboxMessage, UploadSession
from tests.media_pipeline.worker import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
HLS_JS = Path(__file__).with_name("node_modules") / "hls.js" / "dist" / "hls.min.js"
PASSWORD = "pw-for-browser-tests-123"
UPLOAD_PART_BYTES = 5 * 1024**2  # S3's smallest part: a small file still goes in parts

pytestmark = pytest.mark.services


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "chromium is missing: run scripts/services up"
    assert HLS_JS.exists(), "hls.js is missing: npm ci --prefix tests/browser"
    # Playwright's sync API keeps an event loop running in this thread, which
    # Django takes for async code; the tests' ORM calls are plain sync calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--autoplay-policy=no-user-gesture-required"],
        )  # fmt: skip
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE")


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    yield context.new_page()
    context.close()


def _database_url() -> str:
    """The test database pytest-django made (``test_…``), for the server process."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _serve(tmp_path: Path, **env_overrides: str) -> Iterator[str]:
    """The app as a real server process on the test database."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "settings.test",
        "MEDIA_UPLOAD_PART_BYTES": str(UPLOAD_PART_BYTES),
        "WANXUE_API_ANON_RATE_PER_MINUTE": "0",
        **env_overrides,
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/institutions", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    try:
        wait_until(up, 60, what="the app server")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def app_server(committed_db, tmp_path_factory) -> Iterator[str]:
    """Media in MinIO, as in production."""
    yield from _serve(tmp_path_factory.mktemp("server"))


@pytest.fixture
def local_app_server(committed_db, local_store, tmp_path) -> Iterator[str]:
    """The quick start's storage: media on local disk, served by the app
    (this test process's settings point at the same directory)."""
    yield from _serve(tmp_path, S3_BUCKET="", MEDIA_ROOT=str(local_store.root))


@pytest.fixture
def college(committed_db, django_db_blocker) -> Iterator[Institution]:
    """A committed college with an editors group; everything it owns is removed after."""
    with django_db_blocker.unblock():
        _remove("browser-college")
        editors = Group.objects.create(name="浏览器测试学院 编辑")
        editors.permissions.add(
            Permission.objects.get(codename="access_admin", content_type__app_label="wagtailadmin")
        )
        institution = Institution.objects.create(
            code="browser-college",
            name="浏览器测试学院",
            kind=Institution.Kind.PARTNER_COLLEGE,
            editors_group=editors,
        )
        yield institution
        _remove("browser-college")


def _remove(code: str) -> None:
    institution = Institution.objects.filter(code=code).first()
    if institution is None:
        return
    Resource.objects.filter(institution=institution).delete()
    for asset in MediaAsset.objects.filter(institution=institution):
        storage.store().objects_delete(pipeline.hls_prefix(asset))
        OutboxMessage.objects.filter(args=[asset.pk]).delete()
        asset.delete()
    for session_id in UploadSession.objects.filter(institution=institution).values_list(
        "pk", flat=True
    ):
        OutboxMessage.objects.filter(args=[str(session_id)]).delete()  # its finalize job
    UploadSession.objects.filter(institution=institution).delete()
    group = institution.editors_group
    get_user_model().objects.filter(username="browser_editor").delete()
    institution.delete()
    if group is not None:
        group.delete()


@pytest.fixture
def editor(college, django_db_blocker):
    with django_db_blocker.unblock():
        user = get_user_model().objects.create_user("browser_editor", password=PASSWORD)
        user.groups.add(college.editors_group)
    return user


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
