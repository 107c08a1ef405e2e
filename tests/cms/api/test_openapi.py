"""The OpenAPI document is a contract: a change to it must be reviewed.

``openapi_v1.json`` next to this file is the reviewed snapshot. After an
intended change, regenerate it and commit it with the change:

    WANXUE_UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/cms/api/test_openapi.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("openapi_v1.json")


def test_schema_matches_the_reviewed_snapshot(api, db):
    schema = api.get("/api/v1/openapi.json").json()
    if os.environ.get("WANXUE_UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n")

    assert schema == json.loads(SNAPSHOT.read_text()), (
        "The API's OpenAPI document changed. If intended, regenerate the snapshot "
        "(see this module's docstring) and commit it with the change."
    )


def test_schema_is_openapi_3_1(api, db):
    assert api.get("/api/v1/openapi.json").json()["openapi"] == "3.1.0"


def test_interactive_docs_are_served(api, db):
    response = api.get("/api/v1/docs")

    assert (response.status_code, response["Content-Type"]) == (200, "text/html; charset=utf-8")
