"""Coupons, tax rates and shipping rates: Stripe's create validation and wire objects.

Pure functions (no Flask, no store): the HTTP layer parses the form body into nested dicts and
lists of strings, calls `create_coupon`, `create_tax_rate` or `create_shipping_rate`, stores the
returned object and renders it (coupons through `coupon_response`, which hides the includable
fields). The session side (`shipping_options`, `discounts`, `line_items[].tax_rates`) is in
`pricing_session`, the parameter readers and `PricingError` in `pricing_params`.

Every rejection raises `PricingError` with Stripe's status, type, code, param and message.
Stripe omits `code` for a plain bad value (a wrong enum member, an out-of-range number), so do we.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from stripe_sandbox.pricing_params import (
    MAX_OBJECT_ID,
    PricingError,
    as_json_number,
    exclusive_error,
    missing_error,
    new_coupon_id,
    new_id,
    read_bool,
    read_currency,
    read_decimal,
    read_enum,
    read_hash,
    read_int,
    read_list,
    read_metadata,
    read_str,
    reject_unknown,
)

_COUNTRY = re.compile(r"[a-zA-Z]{2}")
DURATIONS = ("forever", "once", "repeating")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")
ESTIMATE_UNITS = ("business_day", "day", "hour", "month", "week")
TAX_TYPES = (
    "admissions_tax", "amusement_tax", "attendance_tax", "communications_tax",
    "digital_excise_tax", "entertainment_tax", "get_fund", "gross_receipts_tax", "gst",
    "hospitality_tax", "hst", "igst", "jct", "lease_tax", "luxury_tax",
    "mass_transit_parking_tax", "nhil", "parking_tax", "pst", "qst", "resort_tax",
    "retail_delivery_fee", "rst", "sales_tax", "service_tax", "tourism_tax",
    "utility_users_tax", "vat",
)
COUPON_PARAMS = ("amount_off", "applies_to", "currency", "currency_options", "duration",
                 "duration_in_months", "expand", "id", "max_redemptions", "metadata", "name",
                 "percent_off", "redeem_by")
TAX_RATE_PARAMS = ("active", "country", "description", "display_name", "expand", "inclusive",
                   "jurisdiction", "metadata", "percentage", "state", "tax_type")
SHIPPING_RATE_PARAMS = ("delivery_estimate", "display_name", "expand", "fixed_amount",
                        "metadata", "tax_behavior", "tax_code", "type")
# Fields Stripe returns on a coupon only when asked for with expand[].
COUPON_INCLUDABLE = ("applies_to", "currency_options")


# --- coupons ---

def create_coupon(params: Mapping[str, Any], *, now: int,
                  object_id: str | None = None) -> dict[str, Any]:
    """Validate `POST /v1/coupons` params and return the full stored coupon."""
    reject_unknown(params, COUPON_PARAMS)
    has_amount = params.get("amount_off") not in (None, "")
    has_percent = params.get("percent_off") not in (None, "")
    if has_amount and has_percent:
        raise exclusive_error("amount_off", "percent_off")
    if not has_amount and not has_percent:
        raise PricingError("You must specify either percent_off or amount_off.",
                           param="percent_off", code="parameter_missing")
    amount_off = currency = percent_off = None
    currency_options: dict[str, dict[str, int]] = {}
    if has_amount:
        amount_off = read_int(params["amount_off"], "amount_off", minimum=1)
        if params.get("currency") in (None, ""):
            raise missing_error("currency")
        currency = read_currency(params["currency"], "currency")
        options = read_hash(params.get("currency_options", {}), "currency_options")
        for code, option in options.items():
            where = f"currency_options[{code}]"
            reject_unknown(read_hash(option, where), ("amount_off",), where)
            if "amount_off" not in option:
                raise missing_error(f"{where}[amount_off]")
            currency_options[read_currency(code, where)] = {
                "amount_off": read_int(option["amount_off"], f"{where}[amount_off]", minimum=1)}
    else:
        for name in ("currency", "currency_options"):
            if params.get(name) not in (None, ""):
                raise PricingError(f"{name} can only be set on an amount_off coupon.",
                                   param=name)
        percent = read_decimal(params["percent_off"], "percent_off")
        if not Decimal(0) < percent <= Decimal(100):
            raise PricingError("Invalid percent_off: must be greater than 0 and less than or "
                               "equal to 100.", param="percent_off")
        percent_off = as_json_number(percent)
    duration = read_enum(params.get("duration", "once"), "duration", DURATIONS)
    months = None
    if duration == "repeating":
        if params.get("duration_in_months") in (None, ""):
            raise missing_error("duration_in_months")
        months = read_int(params["duration_in_months"], "duration_in_months", minimum=1)
    elif params.get("duration_in_months") not in (None, ""):
        raise PricingError("duration_in_months can only be set when duration is repeating.",
                           param="duration_in_months")
    max_redemptions = None
    if params.get("max_redemptions") not in (None, ""):
        max_redemptions = read_int(params["max_redemptions"], "max_redemptions", minimum=1)
    redeem_by = None
    if params.get("redeem_by") not in (None, ""):
        redeem_by = read_int(params["redeem_by"], "redeem_by")
        if redeem_by <= now:
            raise PricingError("Invalid timestamp: must be an integer Unix timestamp in the "
                               "future.", param="redeem_by")
    applies_to = None
    if params.get("applies_to") not in (None, ""):
        spec = read_hash(params["applies_to"], "applies_to")
        reject_unknown(spec, ("products",), "applies_to")
        products = read_list(spec.get("products", []), "applies_to[products]")
        if not products:
            raise missing_error("applies_to[products]")
        applies_to = {"products": [read_str(p, f"applies_to[products][{i}]")
                                   for i, p in enumerate(products)]}
    name = None
    if params.get("name") not in (None, ""):
        name = read_str(params["name"], "name", max_length=40)
    # A chosen id is kept in the objects' id column: no longer than it.
    coupon_id = (read_str(params["id"], "id", max_length=MAX_OBJECT_ID)
                 if params.get("id") is not None else None)
    coupon: dict[str, Any] = {
        "id": coupon_id or object_id or new_coupon_id(),
        "object": "coupon",
        "amount_off": amount_off,
        "created": now,
        "currency": currency,
        "duration": duration,
        "duration_in_months": months,
        "livemode": False,
        "max_redemptions": max_redemptions,
        "metadata": read_metadata(params.get("metadata", {})),
        "name": name,
        "percent_off": percent_off,
        "redeem_by": redeem_by,
        "times_redeemed": 0,
        "valid": True,
    }
    if applies_to is not None:
        coupon["applies_to"] = applies_to
    if currency_options:
        coupon["currency_options"] = currency_options
    return coupon


def coupon_is_valid(coupon: Mapping[str, Any], now: int) -> bool:
    """Say whether a coupon can still be redeemed (not past redeem_by, redemptions left)."""
    if coupon.get("redeem_by") is not None and now >= coupon["redeem_by"]:
        return False
    limit = coupon.get("max_redemptions")
    return limit is None or coupon.get("times_redeemed", 0) < limit


def coupon_response(coupon: Mapping[str, Any], *, now: int,
                    expand: Sequence[str] = ()) -> dict[str, Any]:
    """Return the coupon as the API shows it: `valid` current, includable fields on request."""
    body = {key: value for key, value in coupon.items()
            if key not in COUPON_INCLUDABLE or key in expand}
    body["valid"] = coupon_is_valid(coupon, now)
    return body


def coupon_amount_off(coupon: Mapping[str, Any], currency: str) -> int | None:
    """Return an amount_off coupon's amount in `currency`, or None if it has none there."""
    if coupon.get("currency") == currency:
        return coupon["amount_off"]
    option = (coupon.get("currency_options") or {}).get(currency)
    return option["amount_off"] if option else None


def build_discount(coupon: Mapping[str, Any], *, checkout_session: str, now: int,
                   discount_id: str | None = None) -> dict[str, Any]:
    """Return the `discount` object a coupon becomes when applied to a Checkout Session."""
    return {
        "id": discount_id or new_id("di"),
        "object": "discount",
        "checkout_session": checkout_session,
        "customer": None,
        "customer_account": None,
        "end": None,
        "invoice": None,
        "invoice_item": None,
        "promotion_code": None,
        "source": {"coupon": coupon["id"], "type": "coupon"},
        "start": now,
        "subscription": None,
        "subscription_item": None,
    }


# --- tax rates ---

def create_tax_rate(params: Mapping[str, Any], *, now: int,
                    object_id: str | None = None) -> dict[str, Any]:
    """Validate `POST /v1/tax_rates` params and return the new tax_rate."""
    reject_unknown(params, TAX_RATE_PARAMS)
    for required in ("display_name", "inclusive", "percentage"):
        if params.get(required) is None:
            raise missing_error(required)
    percentage = read_decimal(params["percentage"], "percentage")
    if not Decimal(0) <= percentage <= Decimal(100):
        raise PricingError("Invalid percentage: must be between 0 and 100.", param="percentage")
    if percentage.normalize().as_tuple().exponent < -4:  # type: ignore[operator]
        raise PricingError("Invalid percentage: it can have at most 4 decimal places.",
                           param="percentage")
    country = None
    if params.get("country") is not None:
        country = read_str(params["country"], "country")
        if not _COUNTRY.fullmatch(country):
            raise PricingError(f"Invalid country: {country[:40]}", param="country")
        country = country.upper()
    optional = {name: read_str(params[name], name, max_length=limit)
                if params.get(name) is not None else None
                for name, limit in (("description", 5000), ("jurisdiction", 50), ("state", 5000))}
    tax_type = None
    if params.get("tax_type") is not None:
        tax_type = read_enum(params["tax_type"], "tax_type", TAX_TYPES)
    return {
        "id": object_id or new_id("txr"),
        "object": "tax_rate",
        "active": read_bool(params.get("active", True), "active"),
        "country": country,
        "created": now,
        "description": optional["description"],
        "display_name": read_str(params["display_name"], "display_name", max_length=50),
        "effective_percentage": as_json_number(percentage),
        "flat_amount": None,
        "inclusive": read_bool(params["inclusive"], "inclusive"),
        "jurisdiction": optional["jurisdiction"],
        # Both are set only on the rates Stripe Tax creates; a manual rate leaves them null.
        "jurisdiction_level": None,
        "livemode": False,
        "metadata": read_metadata(params.get("metadata", {})),
        "percentage": as_json_number(percentage),
        "rate_type": None,
        "state": optional["state"],
        "tax_type": tax_type,
    }


# --- shipping rates ---

def create_shipping_rate(params: Mapping[str, Any], *, now: int, object_id: str | None = None,
                         prefix: str = "") -> dict[str, Any]:
    """Validate `POST /v1/shipping_rates` params (or `shipping_rate_data`) and build the rate.

    `prefix` names where the params sit in a larger request, e.g.
    `shipping_options[0][shipping_rate_data]`, so errors point at the right param.
    """
    def name(key: str) -> str:
        return f"{prefix}[{key}]" if prefix else key

    allowed = SHIPPING_RATE_PARAMS if not prefix else \
        tuple(p for p in SHIPPING_RATE_PARAMS if p != "expand")
    reject_unknown(params, allowed, prefix)
    if params.get("display_name") is None:
        raise missing_error(name("display_name"))
    display_name = read_str(params["display_name"], name("display_name"), max_length=100)
    read_enum(params.get("type", "fixed_amount"), name("type"), ("fixed_amount",))
    if params.get("fixed_amount") is None:
        raise missing_error(name("fixed_amount"))
    spec = read_hash(params["fixed_amount"], name("fixed_amount"))
    where = name("fixed_amount")
    reject_unknown(spec, ("amount", "currency", "currency_options"), where)
    for required in ("amount", "currency"):
        if spec.get(required) is None:
            raise missing_error(f"{where}[{required}]")
    fixed: dict[str, Any] = {
        "amount": read_int(spec["amount"], f"{where}[amount]"),
        "currency": read_currency(spec["currency"], f"{where}[currency]"),
    }
    options = read_hash(spec.get("currency_options", {}), f"{where}[currency_options]")
    if options:
        fixed["currency_options"] = {}
    for code, option in options.items():
        at = f"{where}[currency_options][{code}]"
        reject_unknown(read_hash(option, at), ("amount", "tax_behavior"), at)
        if option.get("amount") is None:
            raise missing_error(f"{at}[amount]")
        fixed["currency_options"][read_currency(code, at)] = {
            "amount": read_int(option["amount"], f"{at}[amount]"),
            "tax_behavior": read_enum(option.get("tax_behavior", "unspecified"),
                                      f"{at}[tax_behavior]", TAX_BEHAVIORS),
        }
    tax_code = None
    if params.get("tax_code") is not None:
        tax_code = read_str(params["tax_code"], name("tax_code"))
    return {
        "id": object_id or new_id("shr"),
        "object": "shipping_rate",
        "active": True,
        "created": now,
        "delivery_estimate": _delivery_estimate(params.get("delivery_estimate"),
                                                name("delivery_estimate")),
        "display_name": display_name,
        "fixed_amount": fixed,
        "livemode": False,
        "metadata": read_metadata(params.get("metadata", {}), name("metadata")),
        "tax_behavior": read_enum(params.get("tax_behavior", "unspecified"),
                                  name("tax_behavior"), TAX_BEHAVIORS),
        "tax_code": tax_code,
        "type": "fixed_amount",
    }


def _delivery_estimate(value: Any, param: str) -> dict[str, Any] | None:
    if value is None:
        return None
    spec = read_hash(value, param)
    reject_unknown(spec, ("maximum", "minimum"), param)
    bounds: dict[str, Any] = {"maximum": None, "minimum": None}
    for key in ("minimum", "maximum"):
        if spec.get(key) is None:
            continue
        at = f"{param}[{key}]"
        bound = read_hash(spec[key], at)
        reject_unknown(bound, ("unit", "value"), at)
        for required in ("unit", "value"):
            if bound.get(required) is None:
                raise missing_error(f"{at}[{required}]")
        bounds[key] = {"unit": read_enum(bound["unit"], f"{at}[unit]", ESTIMATE_UNITS),
                       "value": read_int(bound["value"], f"{at}[value]", minimum=1)}
    low, high = bounds["minimum"], bounds["maximum"]
    if low and high and low["unit"] == high["unit"] and low["value"] > high["value"]:
        raise PricingError("The delivery estimate minimum must not exceed its maximum.",
                           param=f"{param}[minimum]")
    return bounds


def shipping_amount(rate: Mapping[str, Any], currency: str) -> int | None:
    """Return a shipping rate's fixed amount in `currency`, or None if it has none there."""
    fixed = rate["fixed_amount"]
    if fixed["currency"] == currency:
        return fixed["amount"]
    option = (fixed.get("currency_options") or {}).get(currency)
    return option["amount"] if option else None
