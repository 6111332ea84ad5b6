"""Stripe's parameter rules for the pricing resources, and the error they raise.

Form values arrive as strings (`amount_off=500`, `inclusive=true`); Python callers may pass
native ints, bools and numbers. Each reader fails the way Stripe's API does: the same code
(`parameter_missing`, `parameter_invalid_integer`, `parameter_invalid_empty`,
`parameters_exclusive`, `parameter_unknown`), the same param path and wording.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

_ALPHABET = string.ascii_letters + string.digits
_INTEGER = re.compile(r"(-?)0*([0-9]+)")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_CURRENCY = re.compile(r"[a-zA-Z]{3}")
INT64_MAX = 2**63 - 1


class PricingError(Exception):
    """A request Stripe would refuse, with the parts of its `{"error": {...}}` body."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 status: int = 400, type_: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.code = code
        self.param = param
        self.message = message

    def body(self) -> dict[str, Any]:
        """Return the `error` object as Stripe renders it (absent parts left out)."""
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")
        if self.param:
            error["param"] = self.param
        return error


def new_id(prefix: str, length: int = 24) -> str:
    """Return a random Stripe-style id, `prefix_` plus letters and digits."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_coupon_id() -> str:
    """Return an id like Stripe's generated coupon codes: 8 upper-case letters and digits."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(8))


def missing_error(param: str) -> PricingError:
    """Build the 400 Stripe answers for an absent required parameter."""
    return PricingError(f"Missing required param: {param}.", param=param,
                        code="parameter_missing")


def empty_error(param: str) -> PricingError:
    """Build the 400 Stripe answers when "" tries to unset a parameter that cannot be unset."""
    return PricingError(
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.", param=param,
        code="parameter_invalid_empty")


def exclusive_error(*params: str) -> PricingError:
    """Build the 400 Stripe answers when mutually exclusive parameters are combined."""
    return PricingError("You may only specify one of these parameters: "
                        f"{', '.join(params)}.", param=params[0], code="parameters_exclusive")


def reject_unknown(params: Mapping[str, Any], allowed: Sequence[str], prefix: str = "") -> None:
    """Answer 400 parameter_unknown for a key the endpoint does not take."""
    for key in params:
        if key not in allowed:
            name = f"{prefix}[{key}]" if prefix else key
            raise PricingError(f"Received unknown parameter: {name}", param=name,
                               code="parameter_unknown")


def read_hash(value: Any, param: str) -> Mapping[str, Any]:
    """Read a hash (nested object) parameter."""
    if value == "":
        raise empty_error(param)
    if not isinstance(value, Mapping):
        raise PricingError(f"Invalid object: {param} must be a hash", param=param)
    return value


def read_list(value: Any, param: str) -> list[Any]:
    """Read an array parameter; "" is an empty array, as Stripe reads it."""
    if value == "":
        return []
    if isinstance(value, Mapping):  # non-contiguous indices arrive as a hash
        raise PricingError(f"Invalid array: {param} must be an array", param=param)
    if not isinstance(value, list | tuple):
        raise PricingError(f"Invalid array: {param} must be an array", param=param)
    return list(value)


# The longest id an object may be given: the length of the store's id column (store.objects).
MAX_OBJECT_ID = 100


def read_str(value: Any, param: str, *, max_length: int = 5000) -> str:
    """Read a non-empty string parameter of at most `max_length` characters."""
    if not isinstance(value, str):
        raise PricingError(f"Invalid string: {param} must be a string", param=param)
    if value == "":
        raise empty_error(param)
    if len(value) > max_length:
        raise PricingError(f"Invalid string: {value[:40]}...; must be at most {max_length} "
                           "characters", param=param)
    return value


def read_int(value: Any, param: str, *, minimum: int = 0) -> int:
    """Read a signed 64-bit integer parameter no smaller than `minimum`."""
    match = _INTEGER.fullmatch(value.strip()) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif match and len(match.group(2)) <= 19:
        number = int(match.group(1) + match.group(2))
    elif value == "":
        raise empty_error(param)
    else:
        shown = value if isinstance(value, str) and len(value) <= 40 else "out of range"
        raise PricingError(f"Invalid integer: {shown}", param=param,
                           code="parameter_invalid_integer")
    if number > INT64_MAX:
        raise PricingError(f"Invalid integer: {value}", param=param,
                           code="parameter_invalid_integer")
    if number < minimum:
        raise PricingError(f"This value must be greater than or equal to {minimum}.",
                           param=param)
    return number


def read_decimal(value: Any, param: str) -> Decimal:
    """Read a decimal parameter exactly (never through a binary float)."""
    if isinstance(value, bool):
        raise PricingError(f"Invalid decimal: {value}", param=param)
    if isinstance(value, int | float):
        value = repr(value)
    if value == "":
        raise empty_error(param)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value.strip()):
        shown = value if isinstance(value, str) and len(value) <= 40 else "not a number"
        raise PricingError(f"Invalid decimal: {shown}", param=param)
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise PricingError(f"Invalid decimal: {value}", param=param) from None


def read_bool(value: Any, param: str) -> bool:
    """Read a boolean parameter (`true`/`false` on the wire)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value == "":
        raise empty_error(param)
    raise PricingError(f"Invalid boolean: {value}", param=param)


def read_enum(value: Any, param: str, members: Sequence[str]) -> str:
    """Read a string parameter that must be one of `members`."""
    text = read_str(value, param)
    if text not in members:
        listed = ", ".join(members[:-1]) + f", or {members[-1]}" if len(members) > 1 \
            else members[0]
        raise PricingError(f"Invalid {param}: must be one of {listed}", param=param)
    return text


def read_currency(value: Any, param: str) -> str:
    """Read a three-letter currency code, returned lower-case."""
    text = read_str(value, param)
    if not _CURRENCY.fullmatch(text):
        raise PricingError(f"Invalid currency: {text}. Stripe currently supports these "
                           "currencies: three-letter ISO codes.", param=param)
    return text.lower()


def read_metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    """Read a metadata hash; an empty value unsets a key, as in Stripe."""
    if value == "":
        return {}
    if not isinstance(value, Mapping):
        raise PricingError("Invalid hash", param=param)
    if len(value) > 50:
        raise PricingError("Metadata can have at most 50 keys.", param=param)
    result: dict[str, str] = {}
    for key, item in value.items():
        if len(key) > 40:
            raise PricingError("Metadata keys can be at most 40 characters.",
                               param=f"{param}[{key}]")
        if item == "":
            continue  # an empty value unsets the key
        result[key] = read_str(item, f"{param}[{key}]", max_length=500)
    return result


def as_json_number(value: Decimal) -> int | float:
    """Render a decimal as JSON does for Stripe: 20 for a whole number, 8.25 otherwise."""
    return int(value) if value == value.to_integral_value() else float(value)
