"""A Checkout Session's pricing params: shipping_options, discounts, line_items[].tax_rates.

Pure: the store is reached only through the lookups passed in. `read_session_pricing` checks
the params the way Stripe does (at most 5 shipping options, each exactly one of
`shipping_rate` / `shipping_rate_data`; at most one discount, a coupon, never together with
`allow_promotion_codes`; at most 5 tax rates per line, one of them inclusive at most) and
resolves them to the objects `totals.compute_totals` prices with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stripe_sandbox.pricing import (
    coupon_amount_off,
    coupon_is_valid,
    create_shipping_rate,
    shipping_amount,
)
from stripe_sandbox.pricing_params import (
    PricingError,
    exclusive_error,
    missing_error,
    read_hash,
    read_list,
    read_str,
    reject_unknown,
)

MAX_SHIPPING_OPTIONS = 5
MAX_TAX_RATES_PER_LINE = 5
MAX_DISCOUNTS = 1

Lookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class SessionPricing:
    """What a session's pricing params resolve to, in request order.

    `shipping_rates` are the offered options (the first is the one selected until the
    customer picks another); `new_shipping_rates` are those made from `shipping_rate_data`,
    which the store must save. `line_tax_rates[i]` are the tax rates of line item i.
    """

    shipping_rates: tuple[Mapping[str, Any], ...]
    new_shipping_rates: tuple[dict[str, Any], ...]
    coupon: Mapping[str, Any] | None
    line_tax_rates: tuple[tuple[Mapping[str, Any], ...], ...]


def read_session_pricing(params: Mapping[str, Any], *, currency: str, now: int,
                         coupons: Lookup, tax_rates: Lookup,
                         shipping_rates: Lookup) -> SessionPricing:
    """Validate a session's shipping_options, discounts and line tax_rates; resolve the ids.

    `currency` is the session's currency (from its line items); each lookup returns the
    stored object for an id, or None.
    """
    options = read_list(params.get("shipping_options", []), "shipping_options")
    if len(options) > MAX_SHIPPING_OPTIONS:
        raise PricingError(f"You can provide up to {MAX_SHIPPING_OPTIONS} shipping options.",
                           param="shipping_options")
    offered: list[Mapping[str, Any]] = []
    created: list[dict[str, Any]] = []
    for index, option in enumerate(options):
        at = f"shipping_options[{index}]"
        option = read_hash(option, at)
        reject_unknown(option, ("shipping_rate", "shipping_rate_data"), at)
        if "shipping_rate" in option and "shipping_rate_data" in option:
            raise exclusive_error(f"{at}[shipping_rate]", f"{at}[shipping_rate_data]")
        if "shipping_rate_data" in option:
            rate = create_shipping_rate(read_hash(option["shipping_rate_data"],
                                                  f"{at}[shipping_rate_data]"),
                                        now=now, prefix=f"{at}[shipping_rate_data]")
            created.append(rate)
        elif "shipping_rate" in option:
            rate_id = read_str(option["shipping_rate"], f"{at}[shipping_rate]")
            found = shipping_rates(rate_id)
            if found is None:
                raise _no_such("shipping_rate", rate_id, f"{at}[shipping_rate]")
            if not found.get("active", True):
                raise PricingError(f"The shipping rate {rate_id} is not active.",
                                   param=f"{at}[shipping_rate]")
            rate = found
        else:
            raise missing_error(f"{at}[shipping_rate]")
        if shipping_amount(rate, currency) is None:
            raise PricingError(
                f"The shipping rate has no amount in {currency}, the currency of this "
                "session's line items.", param=f"{at}[shipping_rate]")
        offered.append(rate)
    return SessionPricing(tuple(offered), tuple(created),
                          _read_discount(params, currency=currency, now=now, coupons=coupons),
                          _read_line_tax_rates(params, tax_rates))


def _read_discount(params: Mapping[str, Any], *, currency: str, now: int,
                   coupons: Lookup) -> Mapping[str, Any] | None:
    discounts = read_list(params.get("discounts", []), "discounts")
    if not discounts:
        return None
    # Stripe refuses the pair whatever allow_promotion_codes says: `false` counts as given.
    if params.get("allow_promotion_codes") is not None:
        raise exclusive_error("allow_promotion_codes", "discounts")
    if len(discounts) > MAX_DISCOUNTS:
        raise PricingError("You may only specify one discount.", param="discounts")
    entry = read_hash(discounts[0], "discounts[0]")
    reject_unknown(entry, ("coupon", "promotion_code"), "discounts[0]")
    if "coupon" in entry and "promotion_code" in entry:
        raise exclusive_error("discounts[0][coupon]", "discounts[0][promotion_code]")
    if "promotion_code" in entry:
        # The sandbox has no promotion codes, so any id is one Stripe would not find.
        code = read_str(entry["promotion_code"], "discounts[0][promotion_code]")
        raise _no_such("promotion_code", code, "discounts[0][promotion_code]")
    if "coupon" not in entry:
        raise missing_error("discounts[0][coupon]")
    coupon_id = read_str(entry["coupon"], "discounts[0][coupon]")
    coupon = coupons(coupon_id)
    if coupon is None:
        raise _no_such("coupon", coupon_id, "discounts[0][coupon]")
    if not coupon_is_valid(coupon, now):
        raise PricingError(f"This coupon is no longer valid: {coupon_id}.",
                           param="discounts[0][coupon]", code="coupon_expired")
    if coupon.get("amount_off") is not None and coupon_amount_off(coupon, currency) is None:
        raise PricingError(f"The coupon {coupon_id} takes an amount off in "
                           f"{coupon['currency']}, not in {currency}, the currency of this "
                           "session.", param="discounts[0][coupon]")
    return coupon


def _read_line_tax_rates(params: Mapping[str, Any],
                         tax_rates: Lookup) -> tuple[tuple[Mapping[str, Any], ...], ...]:
    lines = params.get("line_items", [])
    if not isinstance(lines, list):
        return ()  # the session's own line_items validation reports the shape
    result = []
    for index, line in enumerate(lines):
        at = f"line_items[{index}][tax_rates]"
        ids = read_list(line.get("tax_rates", []), at) if isinstance(line, Mapping) else []
        if len(ids) > MAX_TAX_RATES_PER_LINE:
            raise PricingError(f"You can apply up to {MAX_TAX_RATES_PER_LINE} tax rates to a "
                               "line item.", param=at)
        rates: list[Mapping[str, Any]] = []
        for position, rate_id in enumerate(ids):
            rate_id = read_str(rate_id, f"{at}[{position}]")
            rate = tax_rates(rate_id)
            if rate is None:
                raise _no_such("tax_rate", rate_id, f"{at}[{position}]")
            if not rate.get("active", True):
                raise PricingError(f"The tax rate {rate_id} is inactive and cannot be applied "
                                   "to new Checkout Sessions.", param=f"{at}[{position}]")
            if any(seen["id"] == rate_id for seen in rates):
                raise PricingError(f"The tax rate {rate_id} is listed twice.",
                                   param=f"{at}[{position}]")
            rates.append(rate)
        if sum(1 for rate in rates if rate["inclusive"]) > 1:
            raise PricingError("A line item can have at most one inclusive tax rate.", param=at)
        result.append(tuple(rates))
    return tuple(result)


def _no_such(kind: str, object_id: str, param: str) -> PricingError:
    return PricingError(f"No such {kind}: '{object_id}'", param=param, code="resource_missing",
                        status=404)


def session_discounts(coupon: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Return the Checkout Session's own `discounts` field for the applied coupon."""
    return [] if coupon is None else [{"coupon": coupon["id"], "promotion_code": None}]


def session_shipping_options(rates: Sequence[Mapping[str, Any]],
                             currency: str) -> list[dict[str, Any]]:
    """Return the Checkout Session's `shipping_options` field for the offered rates."""
    return [{"shipping_amount": shipping_amount(rate, currency), "shipping_rate": rate["id"]}
            for rate in rates]
