"""The priced flow end to end: a code, a shipping method and tax, paid on the sandbox."""

from sqlalchemy import func, select

from checkout.domain.order_status import OrderStatus
from checkout.domain.pricing import Discount
from checkout.extensions import db
from checkout.models import DiscountCode, OrderFlag, Payment, TaxRule
from checkout.services.demo import load_demo_pricing
from checkout.services.pricing import coupon_params
from tests.shop import add_to_cart, session_id_of, submit_checkout
from tests.state import guest_token, only_order
from tests.test_discounts import apply_code, visible


def test_welcome10_and_express_paid_on_the_sandbox_charge_exactly_the_order_total(
    app, client, sandbox, products
):
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()
    assert add_to_cart(client, products["MUG"], 2).status_code == 303  # 2 × $24.00
    assert apply_code(client, "welcome10").status_code == 303
    assert "Discount (WELCOME10) −$4.80" in visible(client.get("/cart/"))

    checkout_page = visible(client.get("/checkout/"))
    assert "Express · $14.95" in checkout_page
    assert "Standard · $5.95, free on orders of $75.00 or more" in checkout_page
    session_id = session_id_of(submit_checkout(client, shipping_method="express"))

    # $48.00 − $4.80 = $43.20; US sales tax 8.875% of it = $3.834 → $3.83; Express $14.95.
    order = only_order(app)
    assert (order.subtotal, order.discount, order.shipping, order.tax, order.total) == (
        4800, 480, 1495, 383, 6198)
    session = sandbox.retrieve_session(session_id)
    assert session["amount_total"] == 6198
    assert session["total_details"] == {
        "amount_discount": 480, "amount_shipping": 1495, "amount_tax": 383}

    assert sandbox.pay(session_id).ok
    deliveries = sandbox.deliver_pending()
    assert deliveries and all(d.ok for d in deliveries)
    order = only_order(app)
    assert order.status == OrderStatus.PAYMENT_CONFIRMED
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OrderFlag)) == 0
        payment = db.session.scalar(select(Payment))
        intent = sandbox.retrieve_payment_intent(payment.payment_intent_id)
        db.session.remove()
    assert payment.amount == intent["amount"] == order.total == 6198

    page = visible(client.get(f"/orders/{order.number}?t={guest_token(app, order.number)}"))
    for row in ("Subtotal $48.00", "Discount (WELCOME10) −$4.80", "Shipping (Express) $14.95",
                "Tax $3.83", "Total $61.98"):
        assert row in page


def test_a_method_that_does_not_serve_the_country_is_refused_on_the_form(
    app, client, products
):
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()
    add_to_cart(client, products["MUG"], 1)
    response = submit_checkout(client, shipping_method="express", country="DE",
                               postal_code="10115")
    assert response.status_code == 422
    assert "Express does not deliver to that country" in visible(response)
    missing = submit_checkout(client, shipping_method="")
    assert missing.status_code == 422
    assert "Choose a shipping method." in visible(missing)
    forged = submit_checkout(client, shipping_method="teleport")
    assert forged.status_code == 422


def test_tax_rates_are_made_once_at_the_provider_and_their_ids_kept(app, client, sandbox,
                                                                     products):
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()
    for _ in range(2):
        add_to_cart(client, products["PEN"], 1)
        session_id_of(submit_checkout(client, shipping_method="standard"))
    with app.app_context():
        [rule] = db.session.scalars(select(TaxRule))
        db.session.remove()
    assert rule.provider_inclusive is False
    rate = sandbox.retrieve_tax_rate(rule.provider_id)
    assert (rate["percentage"], rate["inclusive"]) == (8.875, False)


def test_a_coupon_asked_for_again_under_another_key_is_the_same_coupon(app, ctx):
    gateway = app.extensions["payments"]
    discount = Discount("AGAIN", amount_off=750, provider_coupon_id="AGAIN-750usd")
    params = coupon_params(discount, "USD")
    first = gateway.create_coupon(params, "AGAIN-750usd")
    # A lost answer retried under the same key, and one whose key the provider forgot.
    assert gateway.create_coupon(params, "AGAIN-750usd") == first == "AGAIN-750usd"
    assert gateway.create_coupon(params, "another-key") == first
    coupon = app.extensions["sandbox"].retrieve_coupon(first)
    assert (coupon["amount_off"], coupon["currency"], coupon["duration"]) == (750, "usd", "once")


def test_a_tax_rule_whose_percentage_changed_gets_a_new_provider_rate(app, client, sandbox,
                                                                      products):
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()
    add_to_cart(client, products["MUG"], 1)
    session_id_of(submit_checkout(client, shipping_method="standard"))
    with app.app_context():
        rule = db.session.scalar(select(TaxRule))
        old_rate = rule.provider_id
        rule.percentage = "10"  # Stripe's tax rates cannot change their percentage
        db.session.commit()
        db.session.remove()

    add_to_cart(client, products["MUG"], 1)  # $24.00 + 10% = $26.40, + $5.95 Standard
    session_id = session_id_of(submit_checkout(client, shipping_method="standard"))
    with app.app_context():
        rule = db.session.scalar(select(TaxRule))
        db.session.remove()
    assert rule.provider_id != old_rate
    assert rule.provider_percentage == "10"
    assert sandbox.retrieve_tax_rate(rule.provider_id)["percentage"] == 10.0
    assert sandbox.retrieve_tax_rate(old_rate)["percentage"] == 8.875
    session = sandbox.retrieve_session(session_id)
    assert (session["total_details"]["amount_tax"], session["amount_total"]) == (240, 3235)


def test_a_discount_code_whose_terms_changed_gets_a_new_coupon(app, client, sandbox, products):
    with app.app_context():
        load_demo_pricing(prices_include_tax=False)
        db.session.remove()
    for percent_off, coupon_id, discount in (("10", "WELCOME10-10pct", 240),
                                             ("15", "WELCOME10-15pct", 360)):
        with app.app_context():
            code = db.session.scalar(select(DiscountCode).where(DiscountCode.code == "WELCOME10"))
            code.percent_off = percent_off
            db.session.commit()
            db.session.remove()
        add_to_cart(client, products["MUG"], 1)
        apply_code(client, "WELCOME10")
        session = sandbox.retrieve_session(
            session_id_of(submit_checkout(client, shipping_method="standard")))
        assert session["total_details"]["amount_discount"] == discount
        assert sandbox.retrieve_coupon(coupon_id)["percent_off"] == float(percent_off)
