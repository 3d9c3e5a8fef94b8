"""Response headers for the OpenAPI document (Ninja has no argument for them: openapi_extra)."""

from collections.abc import Mapping, Sequence
from typing import Any

HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "Strong validator of the task; send it back in `If-Match`.",
        "schema": {"type": "string"},
    },
    "Location": {"description": "URL of the created task.", "schema": {"type": "string"}},
    "Retry-After": {
        "description": "Seconds to wait before trying again; the token is still good.",
        "schema": {"type": "integer"},
    },
    "WWW-Authenticate": {
        "description": 'RFC 6750 challenge: `Bearer realm="todo-api"`, plus `error` and '
        "`error_description` when a token was sent.",
        "schema": {"type": "string"},
    },
}


def response_headers(
    by_status: Mapping[int, Sequence[str]] | None = None, *, authenticated: bool = True
) -> dict[str, Any]:
    """``openapi_extra`` declaring ``by_status`` headers; authenticated routes add 401, 429, 503."""
    declared = {**(by_status or {})}
    if authenticated:
        declared |= {401: ["WWW-Authenticate"], 429: ["Retry-After"], 503: ["Retry-After"]}
    responses = {
        status: {"headers": {name: {**HEADERS[name], "required": True} for name in names}}
        for status, names in declared.items()
    }
    return {"responses": responses}
