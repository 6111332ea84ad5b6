"""Hold sandbox responses to Stripe's published OpenAPI schemas (tests/data/stripe/).

A plain JSON-Schema validator gets Stripe's OpenAPI 3.0 wrong in a few ways, handled here:
- `nullable: true` must become a `null` type, a `None` enum member or a `null` anyOf branch;
- expandable fields are `anyOf: [string id, $ref object]` (either validates, nothing to do);
- list envelopes (`object: "list"`) validate each `data[]` element by its own `object`;
- an event's `data.object` is a free-form object in the spec: validate it by its own `object`;
- strict mode: Stripe never sets additionalProperties:false, so we add it to every object
  schema with `properties`, which catches fields Stripe would not return.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "stripe" / "openapi-subset.json"
URI = "urn:stripe-openapi-subset"


def normalise(node: Any, strict: bool) -> Any:
    """Rewrite an OpenAPI 3.0 schema tree as JSON Schema 2020-12, in place."""
    if isinstance(node, list):
        for item in node:
            normalise(item, strict)
        return node
    if not isinstance(node, dict):
        return node
    for key, value in node.items():
        if key.startswith("x-"):
            continue  # vendor extensions hold $refs that are not schemas
        if key in ("properties", "patternProperties", "$defs"):
            for sub in value.values():
                normalise(sub, strict)
        elif isinstance(value, dict | list):
            normalise(value, strict)
    if node.pop("nullable", False):
        if "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            node["type"] = [*types, "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        elif "anyOf" in node or "oneOf" in node:
            key = "anyOf" if "anyOf" in node else "oneOf"
            node[key] = [*node[key], {"type": "null"}]
        elif "$ref" in node or "allOf" in node:
            inner = {key: node.pop(key) for key in ("$ref", "allOf") if key in node}
            node["anyOf"] = [inner, {"type": "null"}]
        elif "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    if strict and "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    return node


class StripeSchema:
    """Validate Stripe-shaped bodies, strictly by default; build once per test session."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.raw = json.loads(path.read_text())
        self._registries: dict[bool, Registry] = {}
        self._validators: dict[tuple[str, bool], Draft202012Validator] = {}
        self.by_object: dict[str, str] = {}
        for name, schema in self.raw["components"]["schemas"].items():
            prop = schema.get("properties", {}).get("object", {})
            enum = prop.get("enum") if isinstance(prop, dict) else None
            if enum and len(enum) == 1:
                deleted = name.startswith("deleted_") or "deleted" in schema.get("required", [])
                if not deleted or enum[0] not in self.by_object:
                    self.by_object[enum[0]] = name

    def _validator(self, schema_name: str, strict: bool) -> Draft202012Validator:
        key = (schema_name, strict)
        if key not in self._validators:
            if strict not in self._registries:
                doc = normalise(copy.deepcopy(self.raw), strict)
                resource = Resource.from_contents(doc, default_specification=DRAFT202012)
                self._registries[strict] = Registry().with_resource(URI, resource)
            pointer = "/components/schemas/" + schema_name.replace("~", "~0").replace("/", "~1")
            self._validators[key] = Draft202012Validator(
                {"$ref": f"{URI}#{pointer}"}, registry=self._registries[strict])
        return self._validators[key]

    def errors(self, body: Any, *, schema: str | None = None, strict: bool = True,
               where: str = "$") -> list[str]:
        """Return every problem with `body`, each as "path: message"."""
        if not isinstance(body, dict):
            return [f"{where}: not an object"]
        problems: list[str] = []
        if schema is None and body.get("object") == "list":
            for key in ("data", "has_more", "url"):
                if key not in body:
                    problems.append(f"{where}: list envelope lacks {key!r}")
            if not str(body.get("url", "")).startswith("/v1/"):
                problems.append(f"{where}.url: must be the relative /v1/ path")
            extra = set(body) - {"object", "data", "has_more", "url"}
            if strict and extra:
                problems.append(f"{where}: list envelope has extra fields {sorted(extra)}")
            for index, item in enumerate(body.get("data", [])):
                problems += self.errors(item, strict=strict, where=f"{where}.data[{index}]")
            return problems
        if schema is None:
            schema = "error" if "error" in body and "object" not in body else \
                self.by_object.get(body.get("object", ""))
        if schema is None:
            return [f"{where}: no schema for object {body.get('object')!r}"]
        for error in self._validator(schema, strict).iter_errors(body):
            leaf = _deepest(error)
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                           for p in leaf.absolute_path)
            problems.append(f"{where}{path}: {leaf.message[:300]}")
        if body.get("object") == "event":
            inner = body.get("data", {}).get("object")
            problems += self.errors(inner, strict=strict, where=f"{where}.data.object")
            # Dispute events are named after the charge: charge.dispute.created.
            prefix = {"dispute": "charge.dispute"}.get(inner.get("object", ""),
                                                       inner.get("object", "")) \
                if isinstance(inner, dict) else ""
            if isinstance(inner, dict) and not body.get("type", "").startswith(prefix + "."):
                problems.append(f"{where}.type: does not match data.object.object")
        return problems

    def check(self, body: Any, *, schema: str | None = None) -> Any:
        """Assert `body` is valid in strict mode and return it."""
        problems = self.errors(body, schema=schema)
        assert not problems, "\n".join(problems)
        return body


def _deepest(error: ValidationError) -> ValidationError:
    """Pick the most telling branch of an anyOf failure instead of its generic message."""
    while error.context:
        candidates = [c for c in error.context if c.validator != "type" or c.relative_path]
        chosen = best_match(candidates or error.context)
        if chosen is None:
            break
        error = chosen
    return error
