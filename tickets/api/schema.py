"""The OpenAPI description of every operation's error answers, as the API really gives them.

drf-spectacular documents what a view declares. The answers every view can give without declaring them
come from the framework around it: 401 without credentials, 403 without an agent profile, 400 for a query
parameter or body that does not validate (or cannot be read), 404 for an object that does not exist or
may not be seen, 415 for a body of a type no parser reads. This schema class adds those where a view has
not described them itself, so the schema lists every answer and each with the body it really has.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent

from tickets.api.serializers import ErrorSerializer

VALIDATION_ERROR = "ValidationError"
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Each field or query parameter that is wrong, with its reasons (for an item of a list, keyed by "
        "its position); `non_field_errors` for the request as a whole; `detail` alone when the body "
        "could not be read at all or the request cannot be carried out as asked."
    ),
    "properties": {
        "detail": {"type": "string"},
        "non_field_errors": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
}

_DESCRIPTIONS = {
    "400": "A query parameter or the body is invalid: the answer names it.",
    "401": "No credentials, or wrong ones.",
    "403": "The caller has no agent profile, or their role does not allow this.",
    "404": "No such object, or one the caller may not see.",
    "415": "The body is of a type the API does not read.",
}


class ApiAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        defaults = {
            "400": has_body or any(parameter["in"] == "query" for parameter in parameters),
            "401": bool(operation.get("security")) and {} not in operation["security"],
            "403": bool(operation.get("security")),
            "404": any(parameter["in"] == "path" for parameter in parameters),
            "415": has_body,
        }
        for status, applies in defaults.items():
            if applies and status not in responses:
                responses[status] = {"description": _DESCRIPTIONS[status]}
        for status, response in responses.items():
            # A view that describes an error answer in words gets the body the answer really has.
            if status >= "400" and "content" not in response:
                response["content"] = {"application/json": {"schema": self._error_schema(status)}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_schema(self, status: str) -> dict[str, str]:
        if status != "400":
            return self.resolve_serializer(ErrorSerializer, "response").ref
        component = ResolvedComponent(
            name=VALIDATION_ERROR,
            type=ResolvedComponent.SCHEMA,
            object=VALIDATION_ERROR,
            schema=VALIDATION_ERROR_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return component.ref
