"""The API's documentation on the local stack: `/openapi.json` and Swagger UI at `/swagger`.

A WSGI layer in front of the API Gateway emulator. It serves the committed `docs/openapi.json` (kept
equal to the code by a test) with its server set to this stack, and Swagger UI built from the assets
Powertools ships, so nothing is fetched from the internet. The deployed API does not serve these paths:
they are a developer's aid, and the document is published with the repository.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from werkzeug.wrappers import Request, Response

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]

OPENAPI_PATH = "/openapi.json"
SWAGGER_PATH = "/swagger"
_ASSETS_DIR = Path(swagger_ui.__file__).parent
_ASSETS = {
    f"{SWAGGER_PATH}/swagger-ui-bundle.min.js": "text/javascript; charset=utf-8",
    f"{SWAGGER_PATH}/swagger-ui.min.css": "text/css; charset=utf-8",
}


def local_document(document_path: Path, api_url: str) -> dict[str, Any]:
    """The committed document, addressed to this stack."""
    document: dict[str, Any] = json.loads(document_path.read_text(encoding="utf-8"))
    document["servers"] = [{"url": api_url, "description": "this local stack (`ingestctl local up`)"}]
    return document


def swagger_page(document: dict[str, Any]) -> str:
    # The spec is inlined in a <script>: "</" must not close it early.
    spec = json.dumps(document).replace("</", "<\\/")
    return generate_swagger_html(
        spec=spec,
        swagger_js=f"{SWAGGER_PATH}/swagger-ui-bundle.min.js",
        swagger_css=f"{SWAGGER_PATH}/swagger-ui.min.css",
        swagger_base_url=SWAGGER_PATH,
        oauth2_config=None,
    )


class ApiDocs:
    """Answers GET/HEAD for the documentation paths; passes everything else to the API."""

    def __init__(self, api: WsgiApp, document_path: Path, api_url: str) -> None:
        self._api = api
        self._document_path = document_path
        self._api_url = api_url

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self._document(request) if request.method in ("GET", "HEAD") else None
        if response is None:
            return self._api(environ, start_response)
        return response(environ, start_response)

    def _document(self, request: Request) -> Response | None:
        path = request.path.rstrip("/") or "/"
        if path not in (OPENAPI_PATH, SWAGGER_PATH, *_ASSETS) or not self._document_path.exists():
            return None
        if path in _ASSETS:
            return Response((_ASSETS_DIR / Path(path).name).read_bytes(), content_type=_ASSETS[path])
        document = local_document(self._document_path, self._api_url)
        if path == OPENAPI_PATH:
            return Response(json.dumps(document, indent=2), content_type="application/json")
        return Response(swagger_page(document), content_type="text/html; charset=utf-8")
