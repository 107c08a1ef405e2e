"""Access: anonymous reads, API keys (hashed, revocable, rate-limited), CORS."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.core.cache import cache

from cms.api import keys
from cms.models import ApiKey


@pytest.fixture
def fresh_ip():
    # Rate counters live in the shared Redis cache: a unique address per test
    # keeps one test's count out of another's.
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def test_anonymous_clients_read_public_content(api, db):
    assert api.get("/api/v1/resources").status_code == 200


def test_a_key_is_stored_only_as_its_hash(db):
    api_key, raw_key = keys.api_key_create(name="皖自学小程序")

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hashlib.sha256(raw_key.encode()).hexdigest()
    assert raw_key not in (stored.key_hash, stored.prefix, stored.name)


def test_a_valid_key_is_accepted(api, db):
    _, raw_key = keys.api_key_create(name="web")

    assert api.get("/api/v1/resources", HTTP_X_API_KEY=raw_key).status_code == 200


def test_a_wrong_key_is_a_401_problem(api, db):
    _, raw_key = keys.api_key_create(name="web")

    response = api.get("/api/v1/resources", HTTP_X_API_KEY=raw_key[:-1] + "x")

    assert (response.status_code, response["Content-Type"]) == (401, "application/problem+json")


def test_a_revoked_key_is_refused_at_once(api, db):
    api_key, raw_key = keys.api_key_create(name="web")
    api.get("/api/v1/resources", HTTP_X_API_KEY=raw_key)  # now cached

    keys.api_key_revoke(api_key=api_key)

    assert api.get("/api/v1/resources", HTTP_X_API_KEY=raw_key).status_code == 401


def test_a_key_over_its_limit_gets_429_with_retry_after(api, db):
    _, raw_key = keys.api_key_create(name="web", rate_per_minute=3)
    statuses = [
        api.get("/api/v1/institutions", HTTP_X_API_KEY=raw_key).status_code for _ in range(4)
    ]
    response = api.get("/api/v1/institutions", HTTP_X_API_KEY=raw_key)

    assert statuses == [200, 200, 200, 429]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["title"] == "Too many requests"


def test_limits_are_per_key(api, db):
    _, busy = keys.api_key_create(name="busy", rate_per_minute=1)
    _, quiet = keys.api_key_create(name="quiet", rate_per_minute=1)
    api.get("/api/v1/institutions", HTTP_X_API_KEY=busy)

    assert api.get("/api/v1/institutions", HTTP_X_API_KEY=quiet).status_code == 200


def test_anonymous_clients_are_limited_per_ip(api, db, settings, fresh_ip):
    settings.WANXUE_API_ANON_RATE_PER_MINUTE = 2
    statuses = [api.get("/api/v1/institutions", REMOTE_ADDR=fresh_ip).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_key_cache_holds_no_secret(db):
    api_key, raw_key = keys.api_key_create(name="web")
    keys.caller_for_key(raw_key)

    assert raw_key not in str(cache.get(f"api-key:{api_key.prefix}"))


# -- CORS (RELIABILITY.md A8) ---------------------------------------------------

ALLOWED = "https://app.wanxue.example.cn"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def test_an_allowed_origin_gets_its_origin_back(api, db, cors):
    response = api.get("/api/v1/institutions", HTTP_ORIGIN=ALLOWED)

    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_a_disallowed_origin_gets_no_allow_origin(api, db, cors):
    response = api.get("/api/v1/institutions", HTTP_ORIGIN="https://evil.example.com")

    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_for_post_from_an_unknown_origin_is_not_allowed(api, db, cors):
    response = api.options(
        "/api/v1/resources",
        HTTP_ORIGIN="https://evil.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Methods" not in response


def test_credentials_are_never_allowed(api, db, cors):
    response = api.get("/api/v1/institutions", HTTP_ORIGIN=ALLOWED, HTTP_COOKIE="sessionid=x")

    assert "Access-Control-Allow-Credentials" not in response


def test_the_etag_is_readable_by_front_end_code(api, db, cors):
    response = api.get("/api/v1/institutions", HTTP_ORIGIN=ALLOWED)

    assert response["Access-Control-Expose-Headers"] == "ETag, Retry-After"


def test_a_key_whose_secret_contains_underscores_is_accepted(api, db, monkeypatch):
    monkeypatch.setattr(keys.secrets, "token_urlsafe", lambda size: "se_cr_et")
    _, raw_key = keys.api_key_create(name="web")

    assert api.get("/api/v1/institutions", HTTP_X_API_KEY=raw_key).status_code == 200
