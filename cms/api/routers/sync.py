"""Delta sync for the mini program: what changed since the client's last sync.

A sync token names a point in time ``T``. Syncing from it returns, in pages,
every course, chapter and resource published or changed in (T, U], and every
one unpublished or deleted in (T, U], then a token for U. ``U`` trails the
clock by ``SETTLE_SECONDS`` so that rows whose transaction commits a little
after their timestamp are not skipped. Syncing from nothing returns exactly
the published set as of U (and no removals: the client holds nothing yet).

Changes are merged from five sources, each read in (time, id) order from
after the page position; the position is (time, source rank, id), so pages
never repeat or skip a change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router

from cms import selectors
from cms.api import presenters
from cms.api.http import PRIVATE_CACHE_CONTROL, json_response
from cms.api.inputs import SyncParams
from cms.api.problems import ApiProblem
from cms.api.schemas import Problem, SyncPage

router = Router(tags=["sync"])

TOKEN_SALT = "cms.api.sync"
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)  # before any content
# Publishing commits within a second or two of its timestamp; ten seconds of
# margin. A change that commits later than this after its timestamp (a long
# bulk load) can be missed by a client that syncs meanwhile: resync from
# nothing after bulk loads.
SETTLE_SECONDS = 10


@dataclass(frozen=True)
class Position:
    time: datetime
    rank: int
    id: int


@dataclass(frozen=True)
class Token:
    since: datetime | None
    until: datetime | None  # set while paging through one window
    after: Position | None

    def encode(self) -> str:
        return signing.dumps(
            {
                "s": self.since.isoformat() if self.since else None,
                "u": self.until.isoformat() if self.until else None,
                "a": [self.after.time.isoformat(), self.after.rank, self.after.id]
                if self.after
                else None,
            },
            salt=TOKEN_SALT,
        )

    @classmethod
    def decode(cls, token: str | None) -> Token:
        if not token:
            return cls(since=None, until=None, after=None)
        try:
            payload = signing.loads(token, salt=TOKEN_SALT)
            after = payload["a"]
            return cls(
                since=_parse(payload["s"]),
                until=_parse(payload["u"]),
                after=Position(datetime.fromisoformat(after[0]), int(after[1]), int(after[2]))
                if after
                else None,
            )
        except (signing.BadSignature, KeyError, TypeError, ValueError, IndexError) as error:
            raise ApiProblem(
                400,
                "Invalid sync token",
                "Pass `next_token` from the previous sync unchanged, or leave `since` out.",
                kind="invalid-sync-token",
            ) from error


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class Change:
    position: Position
    data: dict[str, Any]


@dataclass(frozen=True)
class Source:
    rank: int
    time_field: str
    id_field: str
    rows: Callable[[datetime | None, datetime], QuerySet[Any]]
    change: Callable[[Any, HttpRequest], dict[str, Any]]
    prepare: Callable[[list[Any]], None] | None = None  # loads what ``change`` reads


def _upsert(kind: str, present: Callable[..., dict[str, Any]], with_request: bool = False):
    def change(row: Any, request: HttpRequest) -> dict[str, Any]:
        data = present(row, request) if with_request else present(row)
        return {
            "kind": kind,
            "id": row.pk,
            "action": "upsert",
            "changed_at": data.get("last_published_at")
            if kind != "resource"
            else data["updated_at"],
            "course": data if kind == "course" else None,
            "chapter": data if kind == "chapter" else None,
            "resource": data if kind == "resource" else None,
        }

    return change


def _removal(kind_of: Callable[[Any], str], id_of: Callable[[Any], int], exists_of: str):
    def change(entry: Any, request: HttpRequest) -> dict[str, Any]:
        return {
            "kind": kind_of(entry),
            "id": id_of(entry),
            "action": "unpublished" if getattr(entry, exists_of) else "deleted",
            "changed_at": entry.timestamp,
            "course": None,
            "chapter": None,
            "resource": None,
        }

    return change


def _page_kind(entry: Any) -> str:
    return "course" if entry.content_type.model == "coursepage" else "chapter"


def _sources(removals: bool) -> list[Source]:
    sources = [
        Source(
            0,
            "last_published_at",
            "id",
            lambda since, until: selectors.course_changes(since=since, until=until),
            _upsert("course", presenters.course_out),
        ),
        Source(
            1,
            "last_published_at",
            "id",
            lambda since, until: selectors.chapter_changes(since=since, until=until),
            _upsert("chapter", presenters.chapter_out),
            selectors.chapter_resources_attach,
        ),
        Source(
            2,
            "updated_at",
            "id",
            lambda since, until: selectors.resource_changes(since=since, until=until),
            _upsert("resource", presenters.resource_out, with_request=True),
        ),
    ]
    if removals:
        sources += [
            Source(
                3,
                "timestamp",
                "id",
                lambda since, until: selectors.page_removals(
                    since=since or BEGINNING, until=until
                ).select_related("content_type"),
                _removal(_page_kind, lambda entry: entry.page_id, "page_exists"),
            ),
            Source(
                4,
                "timestamp",
                "id",
                lambda since, until: selectors.resource_removals(
                    since=since or BEGINNING, until=until
                ),
                _removal(lambda entry: "resource", lambda e: int(e.object_id), "object_exists"),
            ),
        ]
    return sources


def _after(source: Source, position: Position | None) -> Q:
    if position is None:
        return Q()
    later = Q(**{f"{source.time_field}__gt": position.time})
    if source.rank < position.rank:
        return later
    if source.rank > position.rank:
        return later | Q(**{source.time_field: position.time})
    return later | Q(**{source.time_field: position.time, f"{source.id_field}__gt": position.id})


def _read(
    sources: Iterable[Source], token: Token, until: datetime, limit: int, request: HttpRequest
) -> list[Change]:
    changes: list[Change] = []
    for source in sources:
        rows: list[Model] = list(
            source.rows(token.since, until)
            .filter(_after(source, token.after))
            .order_by(source.time_field, source.id_field)[: limit + 1]
        )
        if source.prepare is not None:
            source.prepare(rows)
        for row in rows:
            time = getattr(row, source.time_field)
            changes.append(Change(Position(time, source.rank, row.pk), source.change(row, request)))
    changes.sort(
        key=lambda change: (change.position.time, change.position.rank, change.position.id)
    )
    return changes[: limit + 1]


@router.get(
    "/sync",
    response={200: SyncPage, 304: None, 400: Problem, 401: Problem, 429: Problem},
    operation_id="sync",
)
def sync(request: HttpRequest, params: Query[SyncParams]) -> HttpResponse:
    """Everything published, changed, unpublished or deleted since `since`."""
    token = Token.decode(params.since)
    until = token.until or timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    if token.since is not None and token.since >= until:
        # Synced again within the settle window: nothing new can be final yet.
        changes: list[Change] = []
    else:
        changes = _read(_sources(token.since is not None), token, until, params.limit, request)
    has_more = len(changes) > params.limit
    changes = changes[: params.limit]
    if has_more:
        next_token = Token(since=token.since, until=until, after=changes[-1].position)
    else:
        # Within the settle window ``until`` can trail the client's token: never go back.
        next_token = Token(
            since=max(until, token.since) if token.since else until, until=None, after=None
        )
    return json_response(
        request,
        {
            "changes": [change.data for change in changes],
            "has_more": has_more,
            "next_token": next_token.encode(),
        },
        # The answer depends on the clock, not only on the URL.
        cache_control=PRIVATE_CACHE_CONTROL,
    )
