"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every error the API answers — bad input, unknown object, rate limit, even an
unexpected failure — has the same shape, so a front end needs one error path.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://wanxue.example.cn/problems/"


class ApiProblem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.errors = errors or []
        self.headers = headers or {}


def problem_response(request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + problem.kind if problem.kind else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "errors": problem.errors,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    for name, value in problem.headers.items():
        response[name] = value
    return response


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors without the parts that are not JSON (``ctx`` may hold
    exception objects) and without echoing the input back."""
    return [
        {
            "parameter": ".".join(str(part) for part in error.get("loc", ()) if part != "query"),
            "message": str(error.get("msg", "")),
            "code": str(error.get("type", "")),
        }
        for error in errors
    ]


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Unknown URLs under /api/v1/ answer a problem document, not an HTML page."""
    return problem_response(
        request, ApiProblem(404, "Not found", "No API endpoint at this address.")
    )
