"""The OpenAPI 3.1 document, built from the routes that exist.

Each handler class declares its operations next to its code (the ``openapi``
class attribute, made with ``operation``); ``document`` walks the route table,
so an endpoint appears in ``/api/openapi.json`` exactly when it is served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}

ENVELOPE_REF = {"$ref": "#/components/schemas/Envelope"}

PAGING = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    "offset": {"type": "integer", "minimum": 0, "default": 0},
}

_DESCRIPTIONS = {
    200: "OK", 201: "Created", 204: "No Content", 302: "Found (redirect)",
    400: "Bad request (the body names the field)", 401: "Not authenticated",
    403: "Forbidden", 404: "Not found", 409: "Conflict", 415: "Unsupported media type",
    503: "Database unreachable",
}


def operation(
    summary: str,
    *,
    tag: str,
    auth: bool = False,
    body: Mapping[str, Mapping[str, Any]] | None = None,
    required: Iterable[str] = (),
    query: Mapping[str, Mapping[str, Any]] | None = None,
    responses: Iterable[int] = (200,),
    envelope: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {}}
    if auth:
        op["security"] = [{"token": []}, {"bearer": []}, {"session": []}]
    if query:
        op["parameters"] = [
            {"name": name, "in": "query", "schema": dict(schema)} for name, schema in query.items()
        ]
    if body is not None:
        properties = {name: dict(schema) for name, schema in body.items()}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = list(required)
        op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
    for status in responses:
        response: dict[str, Any] = {"description": _DESCRIPTIONS.get(status, str(status))}
        if envelope and status != 204:
            response["content"] = {"application/json": {"schema": ENVELOPE_REF}}
        op["responses"][str(status)] = response
    return op


def document(routes: Iterable[tuple[str, type]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for template, handler in routes:
        operations = getattr(handler, "openapi", {})
        if not operations:
            continue
        item = paths.setdefault(template, {})
        names = re.findall(r"\{(\w+)\}", template)
        for method, op in operations.items():
            op = dict(op)
            if names:
                op["parameters"] = [
                    {"name": n, "in": "path", "required": True, "schema": STRING} for n in names
                ] + op.get("parameters", [])
            item[method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arena",
            "version": "0.1.0",
            "description": "Accounts, ranked 1v1 matches, a game library and private lobbies.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`Token <token>`"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "sessionid",
                            "description": "Writes also need the X-CSRFToken header."},
            },
            "schemas": {
                "Envelope": {
                    "type": "object",
                    "required": ["success", "data", "error"],
                    "properties": {
                        "success": BOOLEAN,
                        "data": {"type": ["object", "null"]},
                        "error": {"type": ["object", "null"], "properties": {
                            "code": STRING, "message": STRING}},
                    },
                },
            },
        },
    }
