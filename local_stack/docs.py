"""Swagger UI for the local stack (`GET /docs`): renders the API's own `/v0.1/openapi.json`.

Local only: served by the local gateway, not a route of template.yaml. The Swagger UI files come
from the swagger-ui-bundle-v2 package (a dev dependency), so nothing is fetched from the internet.
"""

from __future__ import annotations

import mimetypes

DOCS_PATH = "/docs"
SPEC_PATH = "/v0.1/openapi.json"
# The files of the Swagger UI distribution the page uses (nothing else is served from it).
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")

PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Workflows API (local stack)</title>
    <link rel="stylesheet" type="text/css" href="{docs}/swagger-ui.css">
    <link rel="icon" type="image/png" href="{docs}/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="{docs}/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{docs}/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script>
      window.ui = SwaggerUIBundle({{
        url: "{spec}",
        dom_id: "#swagger-ui",
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        deepLinking: true,
        // No badge from the public validator: nothing leaves this machine.
        validatorUrl: null,
        persistAuthorization: true,
      }});
    </script>
  </body>
</html>
"""

Answer = tuple[int, dict[str, str], bytes]


def docs_response(path: str) -> Answer | None:
    """The answer to `GET path` if it is the docs page or one of its assets, else None."""
    if path in (DOCS_PATH, f"{DOCS_PATH}/"):
        page = PAGE.format(docs=DOCS_PATH, spec=SPEC_PATH).encode()
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page
    name = path.removeprefix(f"{DOCS_PATH}/")
    if name == path or name not in ASSETS:
        return None
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # only the dev dependencies install it
        return 404, {"Content-Type": "text/plain"}, b"Swagger UI is not installed: pip install -e '.[dev]'"
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return (
        200,
        {"Content-Type": content_type, "Cache-Control": "max-age=3600"},
        (swagger_ui_path / name).read_bytes(),
    )
