"""The v1 API object: routers, error handling, and the OpenAPI document."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from .keys import ApiKeyOrAnonymous
from .problems import PROBLEM_CONTENT_TYPE, ApiProblem, problem_response, validation_errors
from .routers import catalogue, chapters, courses, media, preview, resources, sync, uploads
from .routers import search as search_router

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Published course content of the 皖学 network: institutions, majors with their
course plans, course outlines, chapters and learning resources.

* Only published, public content is served; drafts never appear.
* Lists use cursor pagination: pass `next_cursor` back as `cursor`; `limit` ≤ 100.
* Every GET answers with a strong `ETag`; send it as `If-None-Match` to get `304`.
* Anonymous reads are allowed; apps send `X-API-Key` for their own rate limit.
  Over a limit the API answers `429` with `Retry-After`.
* Errors are RFC 9457 problem documents (`application/problem+json`).
"""


class WanxueAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """Error responses are problem documents: say so in the document, so
        clients and schemathesis expect ``application/problem+json``."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
                    if int(status) == 304:
                        response.pop("content", None)
                # The key is optional: anonymous callers read public content too.
                # (Staff endpoints use the session instead; it is not optional.)
                security = operation.get("security", [])
                if any("ApiKeyOrAnonymous" in scheme for scheme in security):
                    operation["security"] = [{}, *security]
        return schema


api = WanxueAPI(
    title="皖学 Wanxue content API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=ApiKeyOrAnonymous(),
)
api.add_router("", catalogue.router)
api.add_router("", courses.router)
api.add_router("", chapters.router)
api.add_router("", resources.router)
api.add_router("", media.router)
api.add_router("", uploads.router)
api.add_router("", sync.router)
api.add_router("", preview.router)
api.add_router("", search_router.router)


@api.exception_handler(ApiProblem)
def _api_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(request, exc)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem_response(
        request,
        ApiProblem(
            400,
            "Invalid request",
            "One or more parameters are out of range or malformed.",
            kind="invalid-parameters",
            errors=validation_errors(exc.errors),
        ),
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(request, ApiProblem(exc.status_code, str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, ApiProblem(404, "Not found"))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s", request.path)
    return problem_response(
        request, ApiProblem(500, "Internal error", "The error was logged; please retry later.")
    )
