"""The admin screen for API keys (issue #3: keys stored hashed, revocable,
per-key rate limits), driven end to end through the admin and the API."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from cms.models import ApiKey
from cms.tenancy import NETWORK_ADMINS_GROUP


@pytest.fixture
def netadmin(home):
    user = get_user_model().objects.create_user("netadmin", password="pw-for-tests-123")
    user.groups.add(Group.objects.get(name=NETWORK_ADMINS_GROUP))
    return user


@pytest.fixture
def admin_client(client_for, netadmin):
    return client_for(netadmin)


def _create(admin_client, name="皖自学小程序", rate=600) -> str:
    response = admin_client.post(
        "/admin/api_keys/new/", {"name": name, "rate_per_minute": str(rate)}
    )
    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    shown = re.search(
        r'id="api-key-secret" type="text" readonly value="([^"]+)"', response.content.decode()
    )
    assert shown is not None, "the new key is shown once"
    return shown[1]


def _call(raw_key: str) -> int:
    return Client().get("/api/v1/institutions", HTTP_X_API_KEY=raw_key).status_code


def test_a_created_key_is_shown_once_works_and_is_stored_only_hashed(admin_client):
    raw_key = _create(admin_client)

    assert _call(raw_key) == 200
    row = ApiKey.objects.get(name="皖自学小程序")
    assert raw_key not in (row.key_hash, row.prefix, row.name)
    assert raw_key not in admin_client.get("/admin/api_keys/").content.decode()
    assert raw_key not in admin_client.get(f"/admin/api_keys/edit/{row.pk}/").content.decode()


def test_the_listing_shows_keys_and_their_state(admin_client):
    _create(admin_client, name="网页前端")

    body = admin_client.get("/admin/api_keys/").content.decode()

    assert "网页前端" in body


def test_revoking_in_the_admin_takes_effect_at_once(admin_client):
    raw_key = _create(admin_client)
    row = ApiKey.objects.get()
    assert _call(raw_key) == 200  # the key row is now cached

    confirm = admin_client.get(f"/admin/api_keys/revoke/{row.pk}/")
    revoked = admin_client.post(f"/admin/api_keys/revoke/{row.pk}/")

    assert confirm.status_code == 200 and revoked.status_code == 302
    assert _call(raw_key) == 401
    assert ApiKey.objects.get().revoked_at is not None


def test_lowering_a_keys_rate_applies_at_once(admin_client):
    raw_key = _create(admin_client, rate=600)
    row = ApiKey.objects.get()
    assert _call(raw_key) == 200

    response = admin_client.post(
        f"/admin/api_keys/edit/{row.pk}/", {"name": row.name, "rate_per_minute": "1"}
    )

    assert response.status_code == 302
    assert _call(raw_key) == 429  # the second call this minute


@pytest.mark.parametrize(
    "path",
    [
        "/admin/api_keys/",
        "/admin/api_keys/new/",
        "/admin/api_keys/edit/{pk}/",
        "/admin/api_keys/revoke/{pk}/",
    ],
)
def test_college_editors_cannot_see_or_manage_keys(admin_client, client_for, editor_a, path):
    _create(admin_client, name="机密前端")
    pk = ApiKey.objects.get().pk

    response = client_for(editor_a).get(path.format(pk=pk))

    assert response.status_code in (302, 403)
    assert "机密前端" not in response.content.decode()
    post = client_for(editor_a).post(path.format(pk=pk), {"name": "x", "rate_per_minute": "5"})
    assert post.status_code in (302, 403)
    assert ApiKey.objects.get().revoked_at is None
    assert ApiKey.objects.count() == 1
