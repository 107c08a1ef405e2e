"""A shared cache of rendered public responses, so revalidation is cheap.

The ETag stays a hash of the exact body (``http.py``), so it still changes
exactly when what a response shows changes. What this module saves is the
work of building that body again: a response is kept with the *content
generation* it was built in, a random token that every change to public
content replaces, and served only while that token is current. A 304 for a
cached URL then costs one cache round trip and no SQL.

Any write that can change what the API shows calls ``content_changed``: the
model signals below cover saves, deletes, publishing and moves; bulk loaders
call it themselves. It replaces the generation at once (the writer's own
process must not read its old answers) and again on commit (another process
may have cached the old content between the first replacement and the
commit). ``RESPONSE_CACHE_SECONDS`` bounds how long a missed signal could
serve stale content. A change anywhere invalidates everything: editors
publish a few times a minute network-wide, so a finer key is not worth its
bookkeeping yet.

The cache is only an optimisation: with Redis down, every answer is built
from the database and every write goes through (RELIABILITY C7). A write made
during the outage cannot replace the generation, so once Redis is back an
answer cached before it may be served for up to ``RESPONSE_CACHE_SECONDS``.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse
from redis import RedisError

from cms.api.http import body_response

logger = logging.getLogger(__name__)

# What a cache that cannot be reached raises: redis-py's errors, or the
# quick start's file cache failing on disk.
CACHE_ERRORS = (RedisError, OSError)

GENERATION_KEY = "api-v1:content-generation"
RESPONSE_CACHE_SECONDS = 60

# What the public API shows comes from these apps' models; every other write
# (sessions, logs, API-key use, workflow states) leaves the answers unchanged.
CONTENT_APPS = frozenset({"cms", "wagtailcore", "wagtaildocs", "media_pipeline"})
NOT_CONTENT = frozenset(
    {
        "cms.apikey",
        "wagtailcore.revision",
        "wagtailcore.pagelogentry",
        "wagtailcore.modellogentry",
        "wagtailcore.workflowstate",
        "wagtailcore.taskstate",
        "wagtailcore.pagesubscription",
        "wagtailcore.comment",
        "wagtailcore.commentreply",
        "wagtailcore.modelsubscription",
    }
)


def generation_replace() -> str:
    generation = secrets.token_hex(8)
    try:
        cache.set(GENERATION_KEY, generation, None)
    except CACHE_ERRORS:
        logger.warning("api cache unreachable: content generation not replaced", exc_info=True)
    return generation


def content_changed() -> None:
    generation_replace()
    transaction.on_commit(generation_replace)


def _on_model_write(sender: type, **kwargs: Any) -> None:
    meta = sender._meta  # type: ignore[attr-defined]
    if meta.app_label in CONTENT_APPS and meta.label_lower not in NOT_CONTENT:
        content_changed()


def _on_content_signal(**kwargs: Any) -> None:
    content_changed()


def connect() -> None:
    """Called once from ``CmsConfig.ready``."""
    from wagtail import signals

    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_model_write, dispatch_uid=f"api-response-cache-{id(signal)}")
    # A move rewrites the descendants' paths with queryset updates, and an
    # unpublish may cascade the same way: neither sends a model signal for them.
    for signal in (signals.post_page_move, signals.page_unpublished, signals.unpublished):
        signal.connect(_on_content_signal, dispatch_uid=f"api-response-cache-{id(signal)}")


def _key(request: HttpRequest) -> str:
    # Host and scheme are part of the answer: document URLs are absolute.
    where = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return f"api-v1:response:{hashlib.sha256(where.encode()).hexdigest()}"


def cached_public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve a public GET from the cache when its content generation is current.

    Applied to the view function itself, so Ninja has already checked the
    API key and the rate limit before the cache is consulted.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.WANXUE_API_RESPONSE_CACHE:
            return view(request, *args, **kwargs)
        key = _key(request)
        # One round trip for both: the entry names the generation it was
        # built in, and only counts while that is still the current one.
        try:
            found = cache.get_many([GENERATION_KEY, key])
        except CACHE_ERRORS:
            logger.warning("api cache unreachable: answering %s uncached", request.path)
            return view(request, *args, **kwargs)
        generation = found.get(GENERATION_KEY) or generation_replace()
        entry = found.get(key)
        if entry is not None and entry[0] == generation:
            _, etag, body = entry
            return body_response(request, body, etag)
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and response.has_header("ETag"):
            entry = (generation, response["ETag"], response.content)
            try:
                cache.set(key, entry, RESPONSE_CACHE_SECONDS)
            except CACHE_ERRORS:
                logger.warning("api cache unreachable: %s not kept", request.path)
        return response

    # Ninja reads parameter types from the signature, resolving string
    # annotations in the function's module: hand it the view's, resolved.
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    return wrapper
