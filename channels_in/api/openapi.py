"""The API channel's endpoint in the OpenAPI schema, described from its wire models.

The endpoint is a plain Django view, not DRF, so the schema generator does not see it (docs/performance.md
says why it stays plain). This post-processing hook adds it: the request body is the JSON Schema pydantic
emits for ``InboundPayload``, written the way OpenAPI 3.0 reads it, and the answers are those of
``channels_in.api.views``.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from channels_in.api.schemas import InboundPayload
from channels_in.inbound import body_limit
from channels_in.signing import SIGNATURE_HEADER

PATH = "/api/v1/inbound/{channel_key}/messages"
# Component names are prefixed: the wire models' own names (Sender, AttachmentIn) are too generic to
# share a namespace with the REST API's serializers.
PREFIX = "ApiChannel"
TOKEN_SCHEME = "apiChannelToken"
SIGNATURE_SCHEME = "apiChannelSignature"
ERROR = f"{PREFIX}Error"
ACCEPTED = f"{PREFIX}Accepted"


class OpenApi30JsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema in OpenAPI 3.0's dialect: ``nullable`` instead of a ``null`` type."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if "$ref" in inner:
            return {"allOf": [inner], "nullable": True}
        return {**inner, "nullable": True}

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _payload_schemas() -> tuple[str, dict[str, Any]]:
    """The payload's schema and the components it refers to, named with ``PREFIX``."""
    generated = InboundPayload.model_json_schema(
        ref_template=f"#/components/schemas/{PREFIX}{{model}}", schema_generator=OpenApi30JsonSchema
    )
    components = {f"{PREFIX}{name}": schema for name, schema in generated.pop("$defs", {}).items()}
    name = f"{PREFIX}{InboundPayload.__name__}"
    components[name] = generated
    for schema in components.values():
        schema.pop("title", None)
    return name, components


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }


def _operation(payload: str) -> dict[str, Any]:
    return {
        "operationId": "api_channel_message_create",
        "tags": ["inbound"],
        "summary": "Post a customer message (API channel)",
        "description": (
            "An integrator's system brings one customer message in. The raw request is stored before "
            "the answer leaves and filed on a ticket in the background; posting the same `message_id` "
            "again is acknowledged as a duplicate, so retrying is always safe. Credentials are checked "
            "before the body is judged. See docs/channels/api.md."
        ),
        "parameters": [
            {
                "name": "channel_key",
                "in": "path",
                "required": True,
                "description": "The key of an active API channel.",
                "schema": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{payload}"}}},
        },
        "security": [{TOKEN_SCHEME: []}, {SIGNATURE_SCHEME: []}],
        "responses": {
            "202": {
                "description": "Stored; `duplicate` when this `message_id` was accepted before.",
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ACCEPTED}"}}},
            },
            "400": _error("The body is not JSON, or a field is missing or wrong: the reason names it."),
            "401": _error("Neither the token nor the signature is valid."),
            "404": _error("No active API channel has that key."),
            "413": _error(f"The body is over the limit ({body_limit()} bytes here)."),
            "415": _error("The body is declared as another type than application/json."),
        },
    }


def _shared_components() -> dict[str, Any]:
    return {
        ACCEPTED: {
            "type": "object",
            "properties": {
                "event_id": {"type": "integer", "description": "The stored inbound event."},
                "status": {"type": "string", "enum": ["accepted", "duplicate"]},
            },
            "required": ["event_id", "status"],
        },
        ERROR: {
            "type": "object",
            "properties": {"error": {"type": "string", "description": "The reason."}},
            "required": ["error"],
        },
    }


SECURITY_SCHEMES = {
    TOKEN_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "The channel's `token` (API channel only).",
    },
    SIGNATURE_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": SIGNATURE_HEADER,
        "description": (
            "`sha256=<hex>`: the HMAC-SHA256 of the exact body bytes, keyed with the channel's `secret` "
            "(API channel only)."
        ),
    },
}


def inbound_api_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook: add the API channel's endpoint to the generated schema."""
    payload, payload_components = _payload_schemas()
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update({**payload_components, **_shared_components()})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    result.setdefault("paths", {})[PATH] = {"post": _operation(payload)}
    return result
