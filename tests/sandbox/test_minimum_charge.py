"""Stripe refuses a Checkout Session whose total is above zero but below its minimum charge."""

import pytest
import stripe
from sqlalchemy import func, select

from stripe_sandbox.store import objects
from tests.sandbox.conftest import session_params


def one_line(currency: str, unit_amount: int) -> list[dict]:
    return [{"price_data": {"currency": currency, "unit_amount": unit_amount,
                            "product_data": {"name": "Sticker"}}, "quantity": 1}]


@pytest.mark.parametrize(("currency", "amount", "shown"), [
    ("usd", 49, "$0.50 usd"), ("eur", 1, "€0.50 eur"), ("gbp", 29, "£0.30 gbp"),
    ("jpy", 49, "¥50 jpy"),
])
def test_a_session_under_the_minimum_charge_is_a_400_and_nothing_is_made(
        app, client: stripe.StripeClient, currency, amount, shown) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            params=session_params(line_items=one_line(currency, amount)))
    assert refused.value.http_status == 400
    error = refused.value.error
    assert (error.type, error.code) == ("invalid_request_error", "amount_too_small")
    assert error.message == (
        f"The Checkout Session's total amount due must add up to at least {shown}")
    with app.extensions["sandbox"].store.read() as conn:
        assert conn.scalar(select(func.count()).select_from(objects)) == 0


def test_a_coupon_that_brings_the_total_under_the_minimum_is_refused_too(
        client: stripe.StripeClient) -> None:
    coupon = client.v1.coupons.create(params={"amount_off": 960, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(params=session_params(
            line_items=one_line("usd", 1000), discounts=[{"coupon": coupon.id}]))
    assert refused.value.error.code == "amount_too_small"


@pytest.mark.parametrize(("currency", "amount"), [
    ("usd", 50), ("gbp", 30), ("jpy", 50), ("usd", 0),
])
def test_the_minimum_itself_and_zero_are_accepted(client: stripe.StripeClient, currency,
                                                  amount) -> None:
    session = client.v1.checkout.sessions.create(
        params=session_params(line_items=one_line(currency, amount)))
    assert session.amount_total == amount
