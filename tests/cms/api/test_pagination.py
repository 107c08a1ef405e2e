"""Cursor pagination: complete, stable while content is added, strict on input."""

from __future__ import annotations

from urllib.parse import quote


def _walk(api, url: str) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        body = api.get(url + (f"&cursor={quote(cursor)}" if cursor else "")).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


def test_walking_the_cursor_returns_every_item_once_in_order(api, bulk_resources):
    resources = bulk_resources(7)

    assert _walk(api, "/api/v1/resources?limit=3") == [r.pk for r in resources]


def test_walking_by_title_descending_returns_every_item_once(api, bulk_resources):
    resources = bulk_resources(5)

    expected = [r.pk for r in sorted(resources, key=lambda r: r.title, reverse=True)]
    assert _walk(api, "/api/v1/resources?limit=2&ordering=-title") == expected


def test_items_added_before_the_cursor_do_not_shift_the_next_page(api, bulk_resources):
    resources = bulk_resources(4)
    first_page = api.get("/api/v1/resources?limit=2&ordering=-id").json()
    bulk_resources(3)  # newer ids: they sort before the cursor

    second_page = api.get(
        "/api/v1/resources", {"limit": 2, "ordering": "-id", "cursor": first_page["next_cursor"]}
    ).json()

    assert [item["id"] for item in second_page["items"]] == [resources[1].pk, resources[0].pk]


def test_a_forged_cursor_is_a_400_problem(api, db):
    response = api.get("/api/v1/resources?cursor=eyJzIjoicmVzb3VyY2VzIn0:forged")

    assert (response.status_code, response.json()["title"]) == (400, "Invalid cursor")


def test_a_cursor_with_another_ordering_is_a_400(api, bulk_resources):
    bulk_resources(3)
    cursor = api.get("/api/v1/resources?limit=1&ordering=id").json()["next_cursor"]

    response = api.get("/api/v1/resources", {"cursor": cursor, "ordering": "title"})

    assert response.status_code == 400


def test_limit_above_100_is_a_400(api, db):
    response = api.get("/api/v1/resources?limit=101")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "parameter": "limit",
            "message": "Input should be less than or equal to 100",
            "code": "less_than_equal",
        }
    ]


def test_a_non_numeric_id_in_the_path_is_a_400_not_a_500(api, db):
    assert api.get("/api/v1/resources/abc").status_code == 400


def test_an_id_beyond_bigint_is_a_400_not_a_500(api, db):
    assert api.get("/api/v1/courses/99999999999999999999").status_code == 400


def test_an_unknown_api_path_is_a_problem_document(api, db):
    response = api.get("/api/v1/nothing-here")

    assert (response.status_code, response["Content-Type"]) == (404, "application/problem+json")
