"""Stripe's form encoding: `a[b][0][c]=v` pairs in, nested dicts and lists out."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from stripe_sandbox.errors import StripeError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)\Z")
# Only ASCII digits count: str.isdigit() and `\d` also match "²" or "٢", which int() rejects
# or reads as a number no client meant.
_DIGITS = re.compile(r"[0-9]+")
# Stripe's parameters nest a few levels; deeper ones are refused before any recursion over them
# (thousands of brackets would otherwise end in RecursionError, a 500).
MAX_PARAM_DEPTH = 20
_INTEGER = re.compile(r"(-?)0*([0-9]+)")
# Stripe's integers are signed 64-bit, and so are the database columns they are compared with.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def is_digits(text: str) -> bool:
    """Return whether `text` is one or more ASCII digits."""
    return _DIGITS.fullmatch(text) is not None


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn bracket-path pairs into nested dicts; numeric or empty indices make lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise StripeError.invalid(f"Invalid parameter name: {raw_key}", param=raw_key)
        path = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        if len(path) > MAX_PARAM_DEPTH:
            raise StripeError.invalid(
                f"Invalid parameter name: {match.group(1)} is nested more than "
                f"{MAX_PARAM_DEPTH} levels deep", param=match.group(1))
        node: Any = root
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            node = _step(node, part, value if last else None, path[depth + 1] if not last else "")
    return _lists(root)


def _step(node: dict[str, Any], part: str, value: str | None, next_part: str) -> Any:
    if value is not None:
        if part == "":
            part = str(len(node))
        node[part] = value
        return node
    if part == "":
        part = str(len(node))
    child = node.get(part)
    if child is None:
        child = {}
        node[part] = child
    if not isinstance(child, dict):
        raise StripeError.invalid(f"Invalid parameter: {part} cannot be both a value and a hash",
                                  param=part)
    return child


def _lists(node: Any) -> Any:
    """Turn dicts whose keys are all indices 0..n-1 into lists (Stripe indexes every list)."""
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(is_digits(key) for key in converted):
        indices = sorted(int(key) for key in converted)
        if indices == list(range(len(indices))):
            return [converted[str(i)] for i in indices]
    return converted


def parse_form(body: bytes | str) -> dict[str, Any]:
    """Parse an application/x-www-form-urlencoded body."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise StripeError.invalid("Invalid request body: it is not valid UTF-8.",
                                  code=None) from None
    return parse_pairs(parse_qsl(text, keep_blank_values=True))


def parse_query(query: str) -> dict[str, Any]:
    """Parse a query string with the same bracket rules as bodies."""
    return parse_pairs(parse_qsl(query, keep_blank_values=True))


def as_int(value: Any, param: str, *, minimum: int | None = None,
           maximum: int | None = None) -> int:
    """Read a signed 64-bit integer parameter or fail the way Stripe does."""
    match = _INTEGER.fullmatch(value.strip()) if isinstance(value, str) else None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif match and len(match.group(2)) <= 19:  # more digits cannot fit in 64 bits
        number = int(match.group(1) + match.group(2))
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        shown = value if isinstance(value, str) and len(value) <= 40 else "out of range"
        raise StripeError.invalid(f"Invalid integer: {shown}", param=param,
                                  code="parameter_invalid_integer")
    if minimum is not None and number < minimum:
        raise StripeError.invalid(
            f"This value must be greater than or equal to {minimum}.", param=param)
    if maximum is not None and number > maximum:
        raise StripeError.invalid(
            f"This value must be less than or equal to {maximum}.", param=param)
    return number


def as_str(value: Any, param: str, *, max_length: int = 5000) -> str:
    """Read a string parameter (not a hash or list)."""
    if not isinstance(value, str):
        raise StripeError.invalid(f"Invalid string: {param} must be a string", param=param)
    if len(value) > max_length:
        raise StripeError.invalid(
            f"Invalid string: {param} must be at most {max_length} characters", param=param)
    return value


def as_metadata(value: Any, param: str) -> dict[str, str]:
    """Read a metadata hash; empty values unset a key as in Stripe."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError.invalid("Invalid hash", param=param)
    if len(value) > 50:
        raise StripeError.invalid("Metadata can have at most 50 keys.", param=param)
    result: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > 40:
            raise StripeError.invalid("Metadata keys can be at most 40 characters.",
                                      param=f"{param}[{key}]")
        text = as_str(item, f"{param}[{key}]", max_length=500)
        if text != "":
            result[key] = text
    return result


def expand_list(params: dict[str, Any]) -> list[str]:
    """Return the `expand[]` paths of a request."""
    value = params.get("expand", [])
    if isinstance(value, str):
        value = [value]
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise StripeError.invalid("Invalid array", param="expand")
    return value


def reject_unknown(params: dict[str, Any], allowed: Iterable[str]) -> None:
    """Answer 400 parameter_unknown for a top-level parameter the endpoint does not take."""
    allowed_set = set(allowed)
    for key in params:
        if key not in allowed_set:
            raise StripeError.invalid(f"Received unknown parameter: {key}", param=key,
                                      code="parameter_unknown")


def reject_unknown_nested(value: dict[str, Any], allowed: Iterable[str], prefix: str) -> None:
    """Answer 400 parameter_unknown for a nested key the sandbox does not take."""
    allowed_set = set(allowed)
    for key in value:
        if key not in allowed_set:
            raise StripeError.invalid(f"Received unknown parameter: {prefix}[{key}]",
                                      param=f"{prefix}[{key}]", code="parameter_unknown")
