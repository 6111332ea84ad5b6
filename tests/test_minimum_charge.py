"""An order whose total is above zero but below Stripe's minimum charge is never placed."""

import pytest

from checkout.domain.errors import BelowMinimumCharge
from checkout.domain.money import minimum_charge, refuse_unchargeable
from checkout.extensions import db
from tests.factories import ProductFactory
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import only_order, snapshot
from tests.test_discounts import apply_code, make_code, visible


@pytest.mark.parametrize(("currency", "minimum"), [
    ("USD", 50), ("usd", 50), ("EUR", 50), ("GBP", 30), ("JPY", 50), ("CAD", 50),
    ("HKD", 400), ("MXN", 1000), ("THB", 1000),
])
def test_stripes_published_minimum_charge_in_minor_units(currency, minimum):
    assert minimum_charge(currency) == minimum
    refuse_unchargeable(minimum, currency)
    refuse_unchargeable(0, currency)
    with pytest.raises(BelowMinimumCharge):
        refuse_unchargeable(minimum - 1, currency)


def test_a_currency_stripe_lists_no_minimum_for_is_left_to_stripe():
    assert minimum_charge("KRW") is None
    refuse_unchargeable(1, "KRW")


def test_the_refusal_names_the_minimum_and_the_amount():
    with pytest.raises(BelowMinimumCharge) as refused:
        refuse_unchargeable(30, "USD", discounted=True)
    assert str(refused.value) == (
        "Stripe can't take a payment under $0.50, and this order comes to $0.30: add "
        "something to your cart, or take the discount code off.")
    with pytest.raises(BelowMinimumCharge) as refused:
        refuse_unchargeable(45, "USD", "cart")
    assert str(refused.value).endswith("this cart comes to $0.45: add something to your cart.")
    with pytest.raises(BelowMinimumCharge, match=r"under ¥50, and this order comes to ¥1:"):
        refuse_unchargeable(1, "jpy")


@pytest.fixture
def sticker(app) -> int:
    with app.app_context():
        product = ProductFactory(sku="STICKER", price=100, on_hand=10, title="Sticker")
        product_id = product.id
        db.session.remove()
    return product_id


def test_a_discount_that_leaves_less_than_the_minimum_is_refused_at_checkout_with_nothing_written(
    app, client, sticker
):
    make_code(app, "SEVENTY", amount_off=70)
    assert add_to_cart(client, sticker, 1).status_code == 303
    assert apply_code(client, "seventy").status_code == 303
    before = snapshot(app)
    response = submit_checkout(client)
    assert response.status_code == 422
    assert ("Stripe can't take a payment under $0.50, and this order comes to $0.30"
            in visible(response))
    assert snapshot(app) == before


def test_the_minimum_itself_is_placed_and_sent_to_pay(app, client, sticker):
    make_code(app, "FIFTY", amount_off=50)
    add_to_cart(client, sticker, 1)
    assert apply_code(client, "fifty").status_code == 303
    session_id_of(submit_checkout(client))
    assert only_order(app).total == 50


def test_an_order_discounted_to_nothing_is_placed(app, client, sticker):
    """Zero is no payment at all: Stripe completes it as no_payment_required (see seam test)."""
    make_code(app, "ALLFREE", percent_off="100")
    add_to_cart(client, sticker, 1)
    assert apply_code(client, "allfree").status_code == 303
    session_id_of(submit_checkout(client))
    assert only_order(app).total == 0


def test_the_cart_page_warns_when_its_total_is_under_the_minimum(app, client, sticker):
    make_code(app, "SEVENTY", amount_off=70)
    add_to_cart(client, sticker, 1)
    apply_code(client, "seventy")
    page = visible(client.get("/cart/"))
    assert "Stripe can't take a payment under $0.50, and this cart comes to $0.30" in page


def test_a_total_past_the_largest_charge_is_refused_saying_what_to_do():
    from checkout.domain.errors import AboveMaximumCharge, UnchargeableTotal
    from checkout.domain.money import MAX_AMOUNT

    refuse_unchargeable(MAX_AMOUNT, "USD")
    with pytest.raises(AboveMaximumCharge, match=r"over \$999,999.99, and this cart comes to "
                                                 r"\$1,000,000.00: take some units out"):
        refuse_unchargeable(MAX_AMOUNT + 1, "USD", "cart")
    assert issubclass(AboveMaximumCharge, UnchargeableTotal)
