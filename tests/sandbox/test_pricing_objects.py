"""Coupons, tax rates, shipping rates and a session's pricing params, as Stripe validates them.

Pure functions only: no app, no store. Params are given as the form parser delivers them
(strings, nested dicts and lists), and every object built is held to Stripe's OpenAPI schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stripe_sandbox.pricing import (
    build_discount,
    coupon_response,
    create_coupon,
    create_shipping_rate,
    create_tax_rate,
)
from stripe_sandbox.pricing_params import PricingError
from stripe_sandbox.pricing_session import (
    read_session_pricing,
    session_discounts,
    session_shipping_options,
)
from stripe_sandbox.totals import LineInput, compute_totals, line_item_amounts, session_amounts

from .stripe_schema import StripeSchema

NOW = 1_795_300_000
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "stripe" / "samples"


def test_a_percent_coupon_from_form_values_is_a_valid_coupon(schema: StripeSchema) -> None:
    coupon = create_coupon({"percent_off": "12.5", "duration": "once", "name": "Spring",
                            "metadata": {"campaign": "spring"}}, now=NOW)
    body = schema.check(coupon_response(coupon, now=NOW))
    assert re.fullmatch(r"[A-Z0-9]{8}", body["id"])
    assert (body["percent_off"], body["amount_off"], body["currency"]) == (12.5, None, None)
    assert (body["valid"], body["times_redeemed"], body["livemode"]) == (True, 0, False)
    assert body["metadata"] == {"campaign": "spring"} and body["created"] == NOW


def test_an_amount_coupon_keeps_the_callers_id_and_shows_includable_fields_on_expand(
        schema: StripeSchema) -> None:
    coupon = create_coupon({"id": "WELCOME5", "amount_off": "500", "currency": "USD",
                            "currency_options": {"eur": {"amount_off": "450"}},
                            "applies_to": {"products": ["prod_A"]},
                            "duration": "repeating", "duration_in_months": "3",
                            "max_redemptions": "10", "redeem_by": str(NOW + 60)}, now=NOW)
    plain = schema.check(coupon_response(coupon, now=NOW))
    assert plain["id"] == "WELCOME5" and plain["currency"] == "usd"
    assert "applies_to" not in plain and "currency_options" not in plain
    full = schema.check(coupon_response(coupon, now=NOW,
                                        expand=["applies_to", "currency_options"]))
    assert full["applies_to"] == {"products": ["prod_A"]}
    assert full["currency_options"] == {"eur": {"amount_off": 450}}
    assert full["duration_in_months"] == 3 and full["max_redemptions"] == 10
    assert coupon_response(coupon, now=NOW + 60)["valid"] is False  # redeem_by reached


def test_a_tax_rate_is_built_with_stripes_defaults(schema: StripeSchema) -> None:
    rate = schema.check(create_tax_rate(
        {"display_name": "VAT", "percentage": "19.0625", "inclusive": "true", "country": "de",
         "jurisdiction": "DE", "tax_type": "vat", "description": "Germany"}, now=NOW))
    assert rate["id"].startswith("txr_") and rate["object"] == "tax_rate"
    assert (rate["percentage"], rate["inclusive"], rate["active"]) == (19.0625, True, True)
    assert rate["country"] == "DE" and rate["jurisdiction_level"] is None
    whole = create_tax_rate({"display_name": "GST", "percentage": "10", "inclusive": "false",
                             "active": "false"}, now=NOW)
    assert whole["percentage"] == 10 and isinstance(whole["percentage"], int)
    assert whole["active"] is False and whole["metadata"] == {}


def test_a_shipping_rate_is_built_with_stripes_defaults(schema: StripeSchema) -> None:
    rate = schema.check(create_shipping_rate(
        {"display_name": "Ground", "type": "fixed_amount",
         "fixed_amount": {"amount": "500", "currency": "usd",
                          "currency_options": {"eur": {"amount": "450",
                                                       "tax_behavior": "inclusive"}}},
         "delivery_estimate": {"minimum": {"unit": "business_day", "value": "2"},
                               "maximum": {"unit": "business_day", "value": "5"}}}, now=NOW))
    assert rate["id"].startswith("shr_") and rate["type"] == "fixed_amount"
    assert rate["fixed_amount"]["amount"] == 500 and rate["tax_behavior"] == "unspecified"
    assert rate["delivery_estimate"]["maximum"] == {"unit": "business_day", "value": 5}
    bare = schema.check(create_shipping_rate(
        {"display_name": "Pickup", "fixed_amount": {"amount": "0", "currency": "jpy"}}, now=NOW))
    assert bare["delivery_estimate"] is None and bare["fixed_amount"] == {"amount": 0,
                                                                           "currency": "jpy"}


def test_the_applied_discount_is_a_valid_discount(schema: StripeSchema) -> None:
    coupon = create_coupon({"percent_off": "10"}, now=NOW)
    discount = schema.check(build_discount(coupon, checkout_session="cs_test_1", now=NOW))
    assert discount["id"].startswith("di_")
    assert discount["source"] == {"coupon": coupon["id"], "type": "coupon"}


BAD_CREATES = [
    # (builder, params, status, code, param, words in the message)
    (create_coupon, {"duration": "once"}, 400, "parameter_missing", "percent_off",
     "either percent_off or amount_off"),
    (create_coupon, {"percent_off": "10", "amount_off": "5", "currency": "usd"}, 400,
     "parameters_exclusive", "amount_off", "only specify one of these parameters"),
    (create_coupon, {"amount_off": "500"}, 400, "parameter_missing", "currency",
     "Missing required param: currency."),
    (create_coupon, {"amount_off": "five", "currency": "usd"}, 400,
     "parameter_invalid_integer", "amount_off", "Invalid integer: five"),
    (create_coupon, {"amount_off": "0", "currency": "usd"}, 400, None, "amount_off",
     "greater than or equal to 1"),
    (create_coupon, {"percent_off": "0"}, 400, None, "percent_off", "greater than 0"),
    (create_coupon, {"percent_off": "100.01"}, 400, None, "percent_off", "100"),
    (create_coupon, {"percent_off": "ten"}, 400, None, "percent_off", "Invalid decimal"),
    (create_coupon, {"percent_off": "10", "currency": "usd"}, 400, None, "currency",
     "amount_off coupon"),
    (create_coupon, {"percent_off": "10", "duration": "weekly"}, 400, None, "duration",
     "forever, once, or repeating"),
    (create_coupon, {"percent_off": "10", "duration": "repeating"}, 400, "parameter_missing",
     "duration_in_months", "Missing required param"),
    (create_coupon, {"percent_off": "10", "duration_in_months": "3"}, 400, None,
     "duration_in_months", "repeating"),
    (create_coupon, {"percent_off": "10", "redeem_by": str(NOW)}, 400, None, "redeem_by",
     "in the future"),
    (create_coupon, {"percent_off": "10", "name": "x" * 41}, 400, None, "name", "40"),
    (create_coupon, {"percent_off": "10", "id": ""}, 400, "parameter_invalid_empty", "id",
     "cannot be unset"),
    (create_coupon, {"percent_off": "10", "colour": "red"}, 400, "parameter_unknown", "colour",
     "Received unknown parameter: colour"),
    (create_tax_rate, {"percentage": "20", "inclusive": "false"}, 400, "parameter_missing",
     "display_name", "Missing required param: display_name."),
    (create_tax_rate, {"display_name": "VAT", "percentage": "20"}, 400, "parameter_missing",
     "inclusive", "Missing required param: inclusive."),
    (create_tax_rate, {"display_name": "", "percentage": "20", "inclusive": "true"}, 400,
     "parameter_invalid_empty", "display_name", "empty string for 'display_name'"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "100.5", "inclusive": "true"},
     400, None, "percentage", "between 0 and 100"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "-1", "inclusive": "true"},
     400, None, "percentage", "between 0 and 100"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "8.12345", "inclusive": "true"},
     400, None, "percentage", "4 decimal places"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "8.12340", "inclusive": "true",
                       "country": "Germany"}, 400, None, "country", "Invalid country"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "8", "inclusive": "yes"},
     400, None, "inclusive", "Invalid boolean: yes"),
    (create_tax_rate, {"display_name": "VAT", "percentage": "8", "inclusive": "true",
                       "tax_type": "tea"}, 400, None, "tax_type", "must be one of"),
    (create_shipping_rate, {"fixed_amount": {"amount": "5", "currency": "usd"}}, 400,
     "parameter_missing", "display_name", "Missing required param: display_name."),
    (create_shipping_rate, {"display_name": "Post"}, 400, "parameter_missing", "fixed_amount",
     "Missing required param: fixed_amount."),
    (create_shipping_rate, {"display_name": "Post", "fixed_amount": {"amount": "5"}}, 400,
     "parameter_missing", "fixed_amount[currency]", "Missing required param"),
    (create_shipping_rate, {"display_name": "Post",
                            "fixed_amount": {"amount": "-5", "currency": "usd"}}, 400, None,
     "fixed_amount[amount]", "greater than or equal to 0"),
    (create_shipping_rate, {"display_name": "Post", "type": "per_kilo",
                            "fixed_amount": {"amount": "5", "currency": "usd"}}, 400, None,
     "type", "must be one of fixed_amount"),
    (create_shipping_rate, {"display_name": "Post", "tax_behavior": "sometimes",
                            "fixed_amount": {"amount": "5", "currency": "usd"}}, 400, None,
     "tax_behavior", "exclusive, inclusive, or unspecified"),
    (create_shipping_rate, {"display_name": "Post",
                            "fixed_amount": {"amount": "5", "currency": "usd"},
                            "delivery_estimate": {"minimum": {"unit": "day", "value": "0"}}},
     400, None, "delivery_estimate[minimum][value]", "greater than or equal to 1"),
    (create_shipping_rate, {"display_name": "Post",
                            "fixed_amount": {"amount": "5", "currency": "usd"},
                            "delivery_estimate": {"minimum": {"unit": "day", "value": "5"},
                                                  "maximum": {"unit": "day", "value": "2"}}},
     400, None, "delivery_estimate[minimum]", "must not exceed"),
]


@pytest.mark.parametrize(("build", "params", "status", "code", "param", "words"), BAD_CREATES)
def test_bad_create_params_are_refused_as_stripe_refuses_them(
        build: Any, params: dict[str, Any], status: int, code: str | None, param: str,
        words: str, schema: StripeSchema) -> None:
    with pytest.raises(PricingError) as caught:
        build(params, now=NOW)
    error = caught.value
    assert (error.status, error.type, error.code, error.param) == (
        status, "invalid_request_error", code, param)
    assert words in error.message
    schema.check(error.body(), schema="api_errors")


# --- a session's pricing params ---

COUPON = create_coupon({"id": "TENOFF", "percent_off": "10"}, now=NOW)
EUR_COUPON = create_coupon({"id": "EUR5", "amount_off": "500", "currency": "eur"}, now=NOW)
USED_UP = {**create_coupon({"id": "USEDUP", "percent_off": "5", "max_redemptions": "1"},
                           now=NOW), "times_redeemed": 1}
VAT = create_tax_rate({"display_name": "VAT", "percentage": "20", "inclusive": "true"}, now=NOW,
                      object_id="txr_vat")
VAT_REDUCED = create_tax_rate({"display_name": "VAT", "percentage": "7", "inclusive": "true"},
                              now=NOW, object_id="txr_vat7")
SALES = create_tax_rate({"display_name": "Sales tax", "percentage": "8.25",
                         "inclusive": "false"}, now=NOW, object_id="txr_sales")
OLD = create_tax_rate({"display_name": "Old", "percentage": "5", "inclusive": "false",
                       "active": "false"}, now=NOW, object_id="txr_old")
GROUND = create_shipping_rate({"display_name": "Ground",
                               "fixed_amount": {"amount": "500", "currency": "usd"}},
                              now=NOW, object_id="shr_ground")
STORED = {obj["id"]: obj for obj in (COUPON, EUR_COUPON, USED_UP, VAT, VAT_REDUCED, SALES, OLD,
                                     GROUND)}


def read(params: dict[str, Any]) -> Any:
    return read_session_pricing(params, currency="usd", now=NOW, coupons=STORED.get,
                                tax_rates=STORED.get, shipping_rates=STORED.get)


def line(**extra: Any) -> dict[str, Any]:
    return {"price_data": {"currency": "usd", "unit_amount": "1000",
                           "product_data": {"name": "Mug"}}, "quantity": "1", **extra}


def test_session_pricing_params_resolve_to_the_stored_and_new_objects(
        schema: StripeSchema) -> None:
    pricing = read({
        "line_items": [line(tax_rates=["txr_sales"]), line(), line(tax_rates=["txr_vat"])],
        "shipping_options": [
            {"shipping_rate": "shr_ground"},
            {"shipping_rate_data": {"display_name": "Express", "type": "fixed_amount",
                                    "fixed_amount": {"amount": "1500", "currency": "usd"}}}],
        "discounts": [{"coupon": "TENOFF"}],
    })
    assert pricing.coupon == COUPON
    assert [rate["display_name"] for rate in pricing.shipping_rates] == ["Ground", "Express"]
    assert [rate["id"] for rate in pricing.new_shipping_rates] == [pricing.shipping_rates[1]["id"]]
    schema.check(pricing.new_shipping_rates[0])
    assert [[rate["id"] for rate in rates] for rates in pricing.line_tax_rates] == [
        ["txr_sales"], [], ["txr_vat"]]
    assert session_discounts(pricing.coupon) == [{"coupon": "TENOFF", "promotion_code": None}]


def test_no_pricing_params_resolve_to_nothing() -> None:
    pricing = read({"line_items": [line()], "allow_promotion_codes": "false", "discounts": ""})
    assert (pricing.coupon, pricing.shipping_rates, pricing.line_tax_rates) == (None, (), ((),))


SHIP = {"shipping_rate_data": {"display_name": "Post",
                               "fixed_amount": {"amount": "100", "currency": "usd"}}}
BAD_SESSIONS = [
    ({"shipping_options": [SHIP] * 6}, 400, None, "shipping_options", "up to 5"),
    ({"shipping_options": [{"shipping_rate": "shr_ground", **SHIP}]}, 400,
     "parameters_exclusive", "shipping_options[0][shipping_rate]",
     "shipping_options[0][shipping_rate], shipping_options[0][shipping_rate_data]"),
    ({"shipping_options": [{}]}, 400, "parameter_missing",
     "shipping_options[0][shipping_rate]", "Missing required param"),
    ({"shipping_options": [{"shipping_rate": "shr_nope"}]}, 404, "resource_missing",
     "shipping_options[0][shipping_rate]", "No such shipping_rate: 'shr_nope'"),
    ({"shipping_options": [SHIP, {"shipping_rate_data": {"display_name": "Post"}}]}, 400,
     "parameter_missing", "shipping_options[1][shipping_rate_data][fixed_amount]",
     "Missing required param"),
    ({"shipping_options": [{"shipping_rate_data": {
        "display_name": "Post", "fixed_amount": {"amount": "100", "currency": "eur"}}}]}, 400,
     None, "shipping_options[0][shipping_rate]", "no amount in usd"),
    ({"shipping_options": [{"shipping_rate_data": {**SHIP["shipping_rate_data"],
                                                   "expand": ["x"]}}]}, 400,
     "parameter_unknown", "shipping_options[0][shipping_rate_data][expand]", "unknown"),
    ({"discounts": [{"coupon": "TENOFF"}], "allow_promotion_codes": "false"}, 400,
     "parameters_exclusive", "allow_promotion_codes",
     "You may only specify one of these parameters: allow_promotion_codes, discounts."),
    ({"discounts": [{"coupon": "TENOFF"}, {"coupon": "TENOFF"}]}, 400, None, "discounts",
     "one discount"),
    ({"discounts": [{"coupon": "NOPE"}]}, 404, "resource_missing", "discounts[0][coupon]",
     "No such coupon: 'NOPE'"),
    ({"discounts": [{"promotion_code": "promo_1"}]}, 404, "resource_missing",
     "discounts[0][promotion_code]", "No such promotion_code: 'promo_1'"),
    ({"discounts": [{"coupon": "TENOFF", "promotion_code": "promo_1"}]}, 400,
     "parameters_exclusive", "discounts[0][coupon]", "only specify one"),
    ({"discounts": [{}]}, 400, "parameter_missing", "discounts[0][coupon]", "Missing"),
    ({"discounts": [{"coupon": "USEDUP"}]}, 400, "coupon_expired", "discounts[0][coupon]",
     "no longer valid"),
    ({"discounts": [{"coupon": "EUR5"}]}, 400, None, "discounts[0][coupon]",
     "not in usd"),
    ({"line_items": [line(), line(tax_rates=["txr_sales"] * 6)]}, 400, None,
     "line_items[1][tax_rates]", "up to 5 tax rates"),
    ({"line_items": [line(tax_rates=["txr_nope"])]}, 404, "resource_missing",
     "line_items[0][tax_rates][0]", "No such tax_rate: 'txr_nope'"),
    ({"line_items": [line(tax_rates=["txr_old"])]}, 400, None, "line_items[0][tax_rates][0]",
     "inactive"),
    ({"line_items": [line(tax_rates=["txr_sales", "txr_sales"])]}, 400, None,
     "line_items[0][tax_rates][1]", "listed twice"),
    ({"line_items": [line(tax_rates=["txr_vat", "txr_vat7"])]}, 400, None,
     "line_items[0][tax_rates]", "at most one inclusive"),
]


@pytest.mark.parametrize(("params", "status", "code", "param", "words"), BAD_SESSIONS)
def test_bad_session_pricing_params_are_refused_as_stripe_refuses_them(
        params: dict[str, Any], status: int, code: str | None, param: str, words: str) -> None:
    with pytest.raises(PricingError) as caught:
        read({"line_items": [line()], **params})
    error = caught.value
    assert (error.status, error.code, error.param) == (status, code, param)
    assert words in error.message


def test_a_priced_session_and_its_line_items_validate_against_stripes_schemas(
        schema: StripeSchema) -> None:
    pricing = read({"line_items": [line(tax_rates=["txr_sales"]), line(tax_rates=["txr_vat"])],
                    "shipping_options": [{"shipping_rate": "shr_ground"}],
                    "discounts": [{"coupon": "TENOFF"}]})
    totals = compute_totals(
        [LineInput(1000, 1, rates) for rates in pricing.line_tax_rates], currency="usd",
        coupon=pricing.coupon, shipping_rate=pricing.shipping_rates[0])
    discount = build_discount(pricing.coupon, checkout_session="cs_test_x", now=NOW)
    session = json.loads((SAMPLES / "checkout_session_open.json").read_text())
    session.update(session_amounts(totals, discount=discount, include_breakdown=True))
    session["discounts"] = session_discounts(pricing.coupon)
    session["shipping_options"] = session_shipping_options(pricing.shipping_rates, "usd")
    assert session["shipping_options"] == [{"shipping_amount": 500,
                                            "shipping_rate": "shr_ground"}]
    schema.check(session)
    assert session["total_details"]["breakdown"]["discounts"][0]["amount"] == 200
    items = json.loads((SAMPLES / "checkout_session_line_items_list.json").read_text())
    item = items["data"][0]
    item.update(line_item_amounts(totals, 0, discount=discount, include_discounts=True,
                                  include_taxes=True))
    schema.check(item)
    assert item["taxes"][0]["rate"]["id"] == "txr_sales"
    plain = line_item_amounts(totals, 1)
    assert "taxes" not in plain and "discounts" not in plain
