"""Check emulator traffic against LINE's OpenAPI descriptions, including the discriminators.

openapi-core validates paths, parameters, status codes and bodies, but JSON Schema ignores ``discriminator``: an
``Event`` or ``Message`` would only be checked against its base schema. ``StrictSchemas`` follows each discriminator
to the concrete schema (``text`` → ``TextMessageContent``) so a missing ``quoteToken`` or a bogus message type fails.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator

OPENAPI_DIR = Path(__file__).resolve().parents[3] / "emulator" / "openapi"
DATA_PATHS = ("/content",)  # served from api-data.line.me in the spec


class StrictSchemas:
    def __init__(self, path: Path) -> None:
        self.doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.schemas: dict[str, Any] = self.doc["components"]["schemas"]

    def check(self, name: str, instance: Any, where: str = "$") -> list[str]:
        validator = OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": self.doc["components"]})
        errors = [f"{where}: {e.message}" for e in validator.iter_errors(instance)]
        schema = self.schemas[name]
        disc = schema.get("discriminator")
        if disc and isinstance(instance, dict):
            value = instance.get(disc["propertyName"])
            target = disc.get("mapping", {}).get(value)
            if target is None:
                return errors + [f"{where}: {disc['propertyName']}={value!r} is not a known {name}"]
            concrete = target.rsplit("/", 1)[-1]
            if concrete != name:
                return errors + self.check(concrete, instance, where)
        if isinstance(instance, dict):
            for prop, sub in self._properties(schema).items():
                if prop in instance:
                    errors += self._sub(sub, instance[prop], f"{where}.{prop}")
        return errors

    def _properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        props = dict(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            if "$ref" in part:
                props.update(self._properties(self.schemas[part["$ref"].rsplit("/", 1)[-1]]))
            else:
                props.update(self._properties(part))
        return props

    def _sub(self, sub: dict[str, Any], value: Any, where: str) -> list[str]:
        if "$ref" in sub:
            return self.check(sub["$ref"].rsplit("/", 1)[-1], value, where)
        if sub.get("type") == "array" and isinstance(value, list) and "items" in sub:
            out: list[str] = []
            for i, item in enumerate(value):
                out += self._sub(sub["items"], item, f"{where}[{i}]")
            return out
        return []


@cache
def messaging() -> tuple[OpenAPI, StrictSchemas]:
    path = OPENAPI_DIR / "messaging-api.yml"
    return OpenAPI.from_file_path(str(path)), StrictSchemas(path)


@cache
def webhook() -> tuple[OpenAPI, StrictSchemas]:
    path = OPENAPI_DIR / "webhook.yml"
    return OpenAPI.from_file_path(str(path)), StrictSchemas(path)


def request_schema_name(method: str, path_pattern: str) -> str | None:
    _, strict = messaging()
    op = strict.doc["paths"][path_pattern][method.lower()]
    ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def response_declared(method: str, path_pattern: str, status: int) -> bool:
    _, strict = messaging()
    return str(status) in strict.doc["paths"][path_pattern][method.lower()]["responses"]


async def checked_call(
    client,
    method: str,
    path_pattern: str,
    *,
    path_params: dict[str, str] | None = None,
    json_body: Any = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    invalid_request: bool = False,
) -> tuple[int, bytes, dict[str, str]]:
    """Validate the request against messaging-api.yml, send it to the emulator, validate the response.

    ``invalid_request=True`` sends a request the spec itself refuses (to test the emulator's 400s)."""
    spec, strict = messaging()
    path = path_pattern.format(**(path_params or {}))
    data = json.dumps(json_body).encode() if json_body is not None else None
    host = "https://api-data.line.me" if path.endswith(DATA_PATHS) else "https://api.line.me"
    mock_request = MockRequest(host, method, path, args=params, view_args=path_params, headers=headers, data=data)
    if invalid_request:
        try:
            spec.validate_request(mock_request)
        except Exception:  # noqa: BLE001 - any validation error proves the point
            pass
        else:
            raise AssertionError("request was expected to violate the spec")
    else:
        spec.validate_request(mock_request)
    schema = request_schema_name(method, path_pattern)
    if schema and not invalid_request:
        assert strict.check(schema, json_body) == [], f"test request does not match {schema}"
    resp = await client.request(method, path, data=data, params=params, headers={**(headers or {}), **({"Content-Type": "application/json"} if data else {})})
    raw = await resp.read()
    resp_headers = dict(resp.headers)
    content_type = resp.headers.get("Content-Type", "application/json").split(";")[0]
    assert "x-line-request-id" in {k.lower() for k in resp_headers}, "every response carries x-line-request-id"
    if response_declared(method, path_pattern, resp.status):
        spec.validate_response(mock_request, MockResponse(raw, resp.status, headers=resp_headers, content_type=content_type))
    if resp.status >= 400:
        assert strict.check("ErrorResponse", json.loads(raw)) == []
    return resp.status, raw, resp_headers


def check_callback(body: dict[str, Any]) -> list[str]:
    """Errors of one webhook body against webhook.yml (openapi-core plus strict discriminators)."""
    spec, strict = webhook()
    spec.validate_request(MockRequest("https://example.com", "post", "/callback", data=json.dumps(body).encode()))
    return strict.check("CallbackRequest", body)
