"""The OpenAPI document as the local stack serves it, and Swagger UI at /docs (local only)."""

from __future__ import annotations

import re

import pytest
import requests

from dispatch.api.openapi import OPENAPI_PATH, openapi_document


def test_the_document_is_served_to_anyone(stack):
    # No Authorization header: the route has no authorizer
    response = requests.get(f"{stack.api_url}{OPENAPI_PATH}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == openapi_document()


def test_the_docs_page_renders_the_served_document_with_local_assets(stack):
    page = requests.get(f"{stack.api_url}/docs")

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert f'url: "{OPENAPI_PATH}"' in page.text
    assets = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"} <= set(assets)
    for asset in assets:
        # Nothing from the internet: every asset comes from the local gateway
        assert asset.startswith("/docs/"), asset
        response = requests.get(f"{stack.api_url}{asset}")
        assert response.status_code == 200, asset
        assert response.content, asset
    assert requests.get(f"{stack.api_url}/docs/swagger-ui.css").headers["Content-Type"] == "text/css"


@pytest.mark.parametrize("path", ["/docs/../template.yaml", "/docs/index.html", "/docs/nothing.js"])
def test_the_docs_serve_nothing_but_their_assets(stack, path):
    assert requests.get(f"{stack.api_url}{path}").status_code == 404


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "QUERY"])
def test_a_method_without_a_route_is_a_gateway_404(stack, method):
    # As API Gateway answers it (never the local server's 501)
    response = requests.request(method, f"{stack.api_url}/v0.1/workflows")

    assert response.status_code == 404
