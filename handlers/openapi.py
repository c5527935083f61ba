"""The OpenAPI 3.1 document, built from the routes that exist.

Each handler class declares its operations next to its code (the ``openapi``
class attribute, made with ``operation``); ``document`` walks the route table,
so an endpoint appears in ``/api/openapi.json`` exactly when it is served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from handlers.request import DEFAULT_LIMIT, MAX_LIMIT, SAFE_INTEGER

STRING = {"type": "string"}
INTEGER = {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER}
BOOLEAN = {"type": "boolean"}
UUID = {"type": "string", "format": "uuid"}

ENVELOPE_REF = {"$ref": "#/components/schemas/Envelope"}

PAGING = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    "offset": {"type": "integer", "minimum": 0, "maximum": SAFE_INTEGER, "default": 0},
}


def optional(schema: Mapping[str, Any]) -> dict[str, Any]:
    """An optional body field: the server takes ``null`` for it as for absent."""
    types = schema.get("type", "string")
    return {**schema, "type": [*(types if isinstance(types, list) else [types]), "null"]}


def trimmed(max_length: int, *, blank: bool = False) -> dict[str, Any]:
    """A string of 1 to ``max_length`` characters once surrounding whitespace is
    trimmed (``blank``: or none at all), as the server measures it."""
    inner = rf"\S(?:[\s\S]{{0,{max_length - 2}}}\S)?"
    core = f"(?:{inner})?" if blank else inner
    return {"type": "string", "pattern": rf"^\s*{core}\s*$(?![\s\S])"}


_DESCRIPTIONS = {
    200: "OK", 201: "Created", 204: "No Content", 302: "Found (redirect)",
    400: "Bad request (the body names the field or the rule)", 401: "Not authenticated",
    403: "Forbidden", 404: "Not found", 409: "Conflict",
    429: "Too many failed logins (see Retry-After)", 503: "Database unreachable",
}


def operation(
    summary: str,
    *,
    tag: str,
    auth: bool = False,
    body: Mapping[str, Mapping[str, Any]] | None = None,
    required: Iterable[str] = (),
    query: Mapping[str, Mapping[str, Any]] | None = None,
    required_query: Iterable[str] = (),
    responses: Iterable[int] = (200,),
    envelope: bool = False,
    throttled: bool = False,
) -> dict[str, Any]:
    """One operation.  400 is listed wherever there is a body or a query to
    refuse, 401 wherever a user is needed (``auth``, which the handlers also
    read to decide it), 429 where logins are throttled."""
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {}}
    statuses = set(responses)
    if auth:
        op["security"] = [{"token": []}, {"bearer": []}, {"session": []}]
        statuses.add(401)
    if query:
        needed = set(required_query)
        op["parameters"] = [
            {"name": name, "in": "query", "required": name in needed, "schema": dict(schema)}
            for name, schema in query.items()
        ]
        statuses.add(400)
    if body is not None:
        properties = {name: dict(schema) for name, schema in body.items()}
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        op["requestBody"] = {"content": {"application/json": {"schema": schema}}}
        if required:
            schema["required"] = list(required)
            op["requestBody"]["required"] = True
        statuses.add(400)
    if throttled:
        statuses.add(429)
    for status in sorted(statuses):
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
        path_schemas = getattr(handler, "path_schemas", {})
        for method, op in operations.items():
            op = dict(op)
            if names:
                op["parameters"] = [
                    {"name": n, "in": "path", "required": True,
                     "schema": dict(path_schemas.get(n, STRING))} for n in names
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
