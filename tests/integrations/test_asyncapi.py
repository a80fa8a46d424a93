"""The event catalogue as an AsyncAPI 3.0 document: every public type, no internal one, and the
official parser accepts it."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from integrations.catalogue import public_event_classes
from tests.integrations.helpers import INTERNAL

pytestmark = pytest.mark.django_db

HERE = Path(__file__).resolve().parent / "asyncapi"


def test_the_asyncapi_document_has_every_public_type_and_no_internal_one(client):
    response = client.get("/api/events/asyncapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert doc["asyncapi"] == "3.0.0"
    published = {m["x-cloudevents-type"] for m in doc["components"]["messages"].values()}
    public = {cls.type for cls in public_event_classes()}
    assert public <= published
    assert published - public == {"com.mariopizzeria.payment.processed"}  # the inbound one
    assert not {cls.type for cls in INTERNAL} & published
    placed = doc["components"]["schemas"]["order.placed.data"]
    assert (
        "customer_phone" not in placed["required"]
        and placed["properties"]["customer_phone"]["x-contact-data"]
    )
    started = doc["components"]["schemas"]["order.cooking_started.data"]
    assert "started_by" not in started["properties"]
    assert doc["operations"]["receive.cloudevents"]["action"] == "receive"
    assert set(doc["components"]["schemas"]["StandardWebhooksHeaders"]["required"]) >= {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }


def _node_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (HERE / "node_modules").exists() and shutil.which("npm") is None:
        return "npm is not on PATH"
    return None


def _validate(tmp_path, document: dict) -> tuple[int, dict]:
    if not (HERE / "node_modules" / "@asyncapi" / "parser").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True, timeout=600
        )
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    proc = subprocess.run(
        ["node", str(HERE / "validate.mjs"), str(path)], capture_output=True, text=True, timeout=120
    )
    return proc.returncode, json.loads(proc.stdout or "{}")


@pytest.mark.contract
def test_the_asyncapi_document_parses_with_the_official_parser(client, tmp_path):
    reason = _node_reason()
    if reason:
        if os.environ.get("REQUIRE_CONTRACT_TESTS"):
            pytest.fail(reason)
        pytest.skip(reason)
    doc = client.get("/api/events/asyncapi.json").json()

    code, result = _validate(tmp_path, doc)

    assert code == 0, result
    assert result["valid"] and result["version"] == "3.0.0" and result["errors"] == []
    assert {m for m in result["messages"]} >= {
        cls.type.removeprefix("com.mariopizzeria.") for cls in public_event_classes()
    }
    # The parser does check: a broken document is refused.
    doc["operations"]["receive.cloudevents"]["action"] = "publish"
    code, result = _validate(tmp_path, doc)
    assert code == 1 and not result["valid"]
