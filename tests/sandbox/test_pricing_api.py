"""Coupons, tax rates and shipping rates over the API, and the sessions they price.

The expected amounts are worked by hand from Stripe's rules (see stripe_sandbox/totals.py):
T-shirt 19.99 × 2 and socks 5.00 make 44.98; 10% off is 4.50, spread 4.00 / 0.50 by largest
remainder; 8.25% tax on 35.98 and 4.50 is 2.97 + 0.37; shipping 5.00 → 48.82.
"""

from __future__ import annotations

from typing import Any

import stripe
from flask import Flask

from stripe_sandbox import Sandbox

from .conftest import session_params, to_dict
from .helpers import call
from .stripe_schema import StripeSchema


def _priced_params(client: stripe.StripeClient) -> dict[str, Any]:
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "once"})
    rate = client.v1.tax_rates.create(params={"display_name": "Sales tax", "percentage": "8.25",
                                              "inclusive": False})
    params = session_params(
        discounts=[{"coupon": coupon.id}],
        shipping_options=[{"shipping_rate_data": {
            "type": "fixed_amount", "display_name": "Ground",
            "fixed_amount": {"amount": 500, "currency": "usd"}}}])
    for line in params["line_items"]:
        line["tax_rates"] = [rate.id]
    return params


def test_coupons_tax_rates_and_shipping_rates_are_created_and_retrieved(
        client: stripe.StripeClient, schema: StripeSchema) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 500, "currency": "usd",
                                              "id": "FIVEOFF", "duration": "once"})
    assert (coupon.id, coupon.amount_off, coupon.valid) == ("FIVEOFF", 500, True)
    fetched = client.v1.coupons.retrieve("FIVEOFF")
    assert to_dict(fetched) == schema.check(to_dict(coupon))
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": "20",
                                              "inclusive": True, "country": "gb"})
    assert (rate.percentage, rate.inclusive, rate.country) == (20, True, "GB")
    assert to_dict(client.v1.tax_rates.retrieve(rate.id)) == schema.check(to_dict(rate))
    shipping = client.v1.shipping_rates.create(params={
        "display_name": "Express", "type": "fixed_amount",
        "fixed_amount": {"amount": 1500, "currency": "usd"}})
    assert shipping.fixed_amount.amount == 1500
    assert to_dict(client.v1.shipping_rates.retrieve(shipping.id)) == \
        schema.check(to_dict(shipping))


def test_bad_pricing_requests_get_stripes_errors(app: Flask, schema: StripeSchema) -> None:
    status, body, _ = call(app, "POST", "/v1/coupons", {"duration": "once"})
    assert (status, body["error"]["code"], body["error"]["param"]) == \
        (400, "parameter_missing", "percent_off")
    status, body, _ = call(app, "POST", "/v1/coupons", {"percent_off": "150"})
    assert (status, body["error"]["param"]) == (400, "percent_off")
    call(app, "POST", "/v1/coupons", {"percent_off": "5", "id": "SAME"})
    status, body, _ = call(app, "POST", "/v1/coupons", {"percent_off": "5", "id": "SAME"})
    assert (status, body["error"]["code"]) == (400, "resource_already_exists")
    status, body, _ = call(app, "GET", "/v1/tax_rates/txr_nope")
    assert (status, body["error"]["code"]) == (404, "resource_missing")
    status, body, _ = call(app, "GET", "/v1/shipping_rates/shr_nope", {"expand": ["x"]})
    assert status == 400
    status, body, _ = call(app, "POST", "/v1/checkout/sessions",
                           session_params(discounts=[{"coupon": "NOPE"}]))
    assert (status, body["error"]["code"], body["error"]["param"]) == \
        (404, "resource_missing", "discounts[0][coupon]")
    schema.check(body, schema="error")
    status, body, _ = call(app, "POST", "/v1/checkout/sessions", session_params(
        shipping_options=[{"shipping_rate_data": {"display_name": "Ground"}}]))
    assert (status, body["error"]["param"]) == \
        (400, "shipping_options[0][shipping_rate_data][fixed_amount]")


def test_a_pricing_create_honours_its_idempotency_key(app: Flask) -> None:
    first = call(app, "POST", "/v1/tax_rates", {"display_name": "Tax", "percentage": "5",
                                               "inclusive": "false"}, idempotency_key="tr-1")
    again = call(app, "POST", "/v1/tax_rates", {"display_name": "Tax", "percentage": "5",
                                               "inclusive": "false"}, idempotency_key="tr-1")
    assert first[0] == again[0] == 200
    assert again[1]["id"] == first[1]["id"]
    assert again[2]["Idempotent-Replayed"] == "true"
    status, body, _ = call(app, "POST", "/v1/tax_rates", {"display_name": "Tax",
                                                          "percentage": "6",
                                                          "inclusive": "false"},
                           idempotency_key="tr-1")
    assert (status, body["error"]["type"]) == (400, "idempotency_error")


def test_a_session_with_a_coupon_tax_and_shipping_has_stripes_totals(
        client: stripe.StripeClient, sandbox: Sandbox, schema: StripeSchema) -> None:
    params = _priced_params(client)
    session = client.v1.checkout.sessions.create(
        params={**params, "expand": ["total_details.breakdown"]})
    body = schema.check(to_dict(session))
    assert (body["amount_subtotal"], body["amount_total"]) == (4498, 4882)
    details = body["total_details"]
    assert (details["amount_discount"], details["amount_shipping"], details["amount_tax"]) \
        == (450, 500, 334)
    assert details["breakdown"]["taxes"][0]["amount"] == 334
    assert details["breakdown"]["discounts"][0]["amount"] == 450
    assert body["shipping_cost"]["amount_total"] == 500
    assert body["shipping_options"][0]["shipping_amount"] == 500
    assert body["discounts"] == [{"coupon": params["discounts"][0]["coupon"],
                                  "promotion_code": None}]
    shipping = client.v1.shipping_rates.retrieve(body["shipping_cost"]["shipping_rate"])
    assert shipping.display_name == "Ground"

    items = schema.check(to_dict(client.v1.checkout.sessions.line_items.list(
        session.id, params={"expand": ["data.taxes", "data.discounts"]})))
    amounts = [(i["amount_subtotal"], i["amount_discount"], i["amount_tax"], i["amount_total"])
               for i in items["data"]]
    assert amounts == [(3998, 400, 297, 3895), (500, 50, 37, 487)]
    assert [i["taxes"][0]["taxable_amount"] for i in items["data"]] == [3598, 450]
    assert items["data"][0]["discounts"][0]["amount"] == 400
    expanded = schema.check(to_dict(client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["line_items"]})))
    assert [i["amount_total"] for i in expanded["line_items"]["data"]] == [3895, 487]

    paid = sandbox.pay(session.id, email="buyer@example.com")
    assert paid.ok and paid.session["amount_total"] == 4882
    intent = sandbox.retrieve_payment_intent(paid.session["payment_intent"],
                                             ["latest_charge"])
    assert (intent["amount"], intent["amount_received"]) == (4882, 4882)
    assert intent["latest_charge"]["amount"] == 4882


def test_an_inclusive_tax_in_yen_is_inside_the_price(client: stripe.StripeClient) -> None:
    rate = client.v1.tax_rates.create(params={"display_name": "JCT", "percentage": "10",
                                              "inclusive": True})
    session = client.v1.checkout.sessions.create(params=session_params(line_items=[
        {"price_data": {"currency": "jpy", "unit_amount": 1100,
                        "product_data": {"name": "Tea"}}, "quantity": 1,
         "tax_rates": [rate.id]}]))
    assert (session.amount_subtotal, session.amount_total) == (1100, 1100)
    assert session.total_details.amount_tax == 100


def test_a_session_discounted_to_nothing_needs_no_payment(
        client: stripe.StripeClient, sandbox: Sandbox) -> None:
    coupon = client.v1.coupons.create(params={"percent_off": 100})
    session = client.v1.checkout.sessions.create(
        params=session_params(discounts=[{"coupon": coupon.id}]))
    assert (session.amount_total, session.total_details.amount_discount) == (0, 4498)
    paid = sandbox.pay(session.id, email="buyer@example.com")
    assert paid.session["payment_status"] == "no_payment_required"
    assert paid.session["payment_intent"] is None


def test_the_hosted_page_shows_the_discount_shipping_and_tax(
        app: Flask, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(params=_priced_params(client))
    html = app.test_client().get(f"/pay/{session.id}").get_data(as_text=True)
    for text in ("Subtotal", "$44.98", "Discount", "−$4.50", "Shipping", "$5.00", "Tax",
                 "$3.34", "$48.82"):
        assert text in html
    plain = client.v1.checkout.sessions.create(params=session_params())
    html = app.test_client().get(f"/pay/{plain.id}").get_data(as_text=True)
    assert "Discount" not in html and "Shipping" not in html


def test_the_python_control_api_creates_and_reads_pricing_objects(
        sandbox: Sandbox, schema: StripeSchema) -> None:
    coupon = sandbox.create_coupon({"amount_off": 300, "currency": "jpy", "id": "YEN300"})
    assert schema.check(sandbox.retrieve_coupon("YEN300")) == coupon
    rate = sandbox.create_tax_rate({"display_name": "GST", "percentage": 5, "inclusive": False})
    assert sandbox.retrieve_tax_rate(rate["id"])["percentage"] == 5
    shipping = sandbox.create_shipping_rate({"display_name": "Post", "fixed_amount": {
        "amount": 0, "currency": "jpy"}})
    assert sandbox.retrieve_shipping_rate(shipping["id"])["fixed_amount"]["amount"] == 0
    session = sandbox.create_session(session_params(
        line_items=[{"price_data": {"currency": "jpy", "unit_amount": 250,
                                    "product_data": {"name": "Sweet"}}, "quantity": 1,
                     "tax_rates": [rate["id"]]}],
        discounts=[{"coupon": "YEN300"}], shipping_options=[{"shipping_rate": shipping["id"]}]))
    # The coupon is capped at the items (250), so nothing is left to tax or to pay.
    assert (session["amount_total"], session["total_details"]["amount_discount"],
            session["total_details"]["amount_tax"]) == (0, 250, 0)
