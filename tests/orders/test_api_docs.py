"""API docs: every operation documented with examples, Swagger UI and ReDoc served with no request
leaving the machine (Playwright's request log)."""

from urllib.parse import urlsplit

import pytest
import yaml
from django.test import Client

from tests.browser import needs_chromium, screenshot

METHODS = ("get", "post", "put", "patch", "delete")


def operations(client: Client) -> dict[str, dict]:
    schema = yaml.safe_load(client.get("/api/schema/").content)
    return {
        op["operationId"]: op for ops in schema["paths"].values() for m, op in ops.items() if m in METHODS
    }


def _examples(op: dict) -> list:
    found = list(op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {}))
    for response in op.get("responses", {}).values():
        found += list(response.get("content", {}).get("application/json", {}).get("examples", {}))
    return found


@pytest.mark.django_db
def test_every_operation_has_a_summary_and_examples(client):
    ops = operations(client)
    assert {"orders_create", "orders_retrieve", "orders_cancel", "menu", "auth_register"} <= set(ops)
    for op_id, op in ops.items():
        assert op.get("summary"), f"{op_id} has no summary"
        assert _examples(op), f"{op_id} has no example"
    assert (
        "tracker_url"
        in ops["orders_create"]["responses"]["201"]["content"]["application/json"]["examples"]["Placed"][
            "value"
        ]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_doc_pages_load_nothing_from_another_site(client, path):
    html = client.get(path).content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


@pytest.mark.browser
@needs_chromium
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "path, operation_selector",
    [("/api/docs/", ".opblock"), ("/api/redoc/", "[data-section-id^='operation/']")],
)
def test_the_docs_render_every_operation_offline(browser, live_server, path, operation_selector):
    expected = operations(Client())
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request))
    try:
        page.goto(f"{live_server.url}{path}")
        page.locator(operation_selector).nth(len(expected) - 1).wait_for(timeout=15_000)
        assert page.locator(operation_selector).count() == len(expected)
        text = page.inner_text("body")
        for op in expected.values():
            assert op["summary"] in text
        screenshot(page, "api-docs" if "docs" in path else "api-redoc")
    finally:
        page.close()
    ours = urlsplit(live_server.url).netloc
    elsewhere = [
        r for r in requested if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != ours
    ]
    # ReDoc's bundle asks for its sidebar logo from its CDN; the page's Content-Security-Policy stops
    # that in the browser, so nothing leaves the machine. Anything else from outside fails the test.
    assert all(r.failure == "csp" for r in elsewhere), [(r.url, r.failure) for r in elsewhere]
    assert [r.url for r in elsewhere] in ([], ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
    assert any(urlsplit(r.url).path.startswith("/static/drf_spectacular_sidecar/") for r in requested)
