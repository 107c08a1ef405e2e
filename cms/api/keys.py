"""API keys and rate limits.

Anyone may read public content; front-end apps send ``X-API-Key`` to get
their own, larger rate limit and to be told apart in logs. A wrong or revoked
key is a 401 — never silently downgraded to anonymous, or a typo would go
unnoticed until the anonymous limit bites.

Rate limits are fixed one-minute windows counted in the default cache (Redis
whenever ``REDIS_URL`` is set, so every web process shares the count). A
fixed window lets a client spend two windows' worth across a boundary; that
is accepted for a limit meant to stop runaway clients, not to meter them.
Application throttling is not a security boundary: the edge limits too.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader

from cms.models import ApiKey

from .problems import ApiProblem
from .response_cache import CACHE_ERRORS

logger = logging.getLogger(__name__)

KEY_PREFIX = "wx"
WINDOW_SECONDS = 60
# Key rows are cached so a request costs no query for its key; revocation
# deletes the cached row, so it takes effect at once.
KEY_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key (``key_id``) or an anonymous client IP."""

    key_id: int | None
    ident: str
    rate_per_minute: int


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _cache_key(prefix: str) -> str:
    return f"api-key:{prefix}"


def api_key_create(*, name: str, rate_per_minute: int = 600) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown once and never stored."""
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=_hash(raw_key), rate_per_minute=rate_per_minute
    )
    return api_key, raw_key


def api_key_update(*, api_key: ApiKey, name: str, rate_per_minute: int) -> ApiKey:
    api_key.name = name
    api_key.rate_per_minute = rate_per_minute
    api_key.save(update_fields=["name", "rate_per_minute"])
    cache.delete(_cache_key(api_key.prefix))  # the new limit applies at once
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    cache.delete(_cache_key(api_key.prefix))


def _key_row(prefix: str) -> tuple[int, str, int, bool] | None:
    cached = cache.get(_cache_key(prefix))
    if cached is not None:
        return tuple(cached) if cached else None
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    row = (
        None
        if api_key is None
        else (api_key.pk, api_key.key_hash, api_key.rate_per_minute, api_key.is_active)
    )
    cache.set(_cache_key(prefix), list(row) if row else [], KEY_CACHE_SECONDS)
    return row


def caller_for_key(raw_key: str) -> Caller:
    parts = raw_key.split("_", 2)  # the secret part may itself contain "_"
    row = _key_row(parts[1]) if len(parts) == 3 and parts[0] == KEY_PREFIX else None
    if row is None or not secrets.compare_digest(row[1], _hash(raw_key)) or not row[3]:
        raise ApiProblem(
            401,
            "Invalid API key",
            "The key is unknown or revoked. Leave X-API-Key out to read as anonymous.",
            kind="invalid-api-key",
            headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
        )
    return Caller(key_id=row[0], ident=f"key:{row[0]}", rate_per_minute=row[2])


def rate_limit_check(caller: Caller) -> None:
    """Count the request in the caller's current window; 429 over the limit."""
    if caller.rate_per_minute <= 0:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    counter = f"api-rate:{caller.ident}:{window}"
    # add() then incr(): atomic in Redis, and the key expires with its window.
    try:
        cache.add(counter, 0, timeout=WINDOW_SECONDS + 5)
        count = cache.incr(counter)
    except CACHE_ERRORS:
        # Fail open: with Redis down, learners keep reading; the edge's
        # limit in front of the app stays the real control (RELIABILITY A7).
        logger.warning("rate limit not counted for %s: cache unreachable", caller.ident)
        return
    if count > caller.rate_per_minute:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        raise ApiProblem(
            429,
            "Too many requests",
            f"Limit: {caller.rate_per_minute} requests per minute.",
            kind="rate-limited",
            headers={"Retry-After": str(retry_after)},
        )


class ApiKeyOrAnonymous(APIKeyHeader):
    """Ninja auth that always admits a caller, keyed or anonymous, after the
    key check and the rate limit; ``request.auth`` is the ``Caller``."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller:
        if key:
            caller = caller_for_key(key)
        else:
            caller = Caller(
                key_id=None,
                # REMOTE_ADDR only: trusting X-Forwarded-For needs the proxy count
                # of the deployment, which the proxy in front must then set.
                ident=f"ip:{request.META.get('REMOTE_ADDR', '')}",
                rate_per_minute=settings.WANXUE_API_ANON_RATE_PER_MINUTE,
            )
        rate_limit_check(caller)
        return caller
