"""The shop's pricing context: currency, destination, shipping method, discount code, tax rules.

`store_context` is the one place it is built; the provider's coupons and tax rates that repeat
it on the Checkout Session are made here too, always with no database transaction open.
"""

from collections.abc import Sequence
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update

from checkout.domain.errors import ShippingUnavailable
from checkout.domain.pricing import (
    Discount,
    PricingContext,
    ShippingMethod,
    TaxRate,
)
from checkout.extensions import db
from checkout.models import Order, ShippingOption, TaxRule
from checkout.payments import gateway
from checkout.services import discounts


def store_context(
    country: str | None = None,
    shipping_code: str | None = None,
    discount_code: str | None = None,
    email: str | None = None,
    *,
    subtotal: int = 0,
    tax_rates: tuple[TaxRate, ...] | None = None,
    shipping_options: Sequence[ShippingOption] | None = None,
) -> PricingContext:
    """The context a cart of this items' `subtotal` is priced in.

    Raises DiscountRefused for a code that may not be used (the message says why) and
    ShippingUnavailable for a method that does not serve the country. With no method chosen
    yet, shipping is not priced; with no country, no tax. `tax_rates`, when given, are the
    country's as publish_tax_rates just read them in this transaction; `shipping_options`,
    the active methods as shipping_choices just read them in it.
    """
    currency = current_app.config["STORE_CURRENCY"]
    discount = None
    if discount_code:
        row = discounts.check(discount_code, subtotal, currency, email)
        discount = discounts.as_discount(row, subtotal, currency)
    return PricingContext(
        currency=currency,
        country=country,
        shipping=(shipping_for(shipping_code, country, subtotal, shipping_options)
                  if shipping_code else None),
        discount=discount,
        tax_rates=tax_rates_for(country) if tax_rates is None else tax_rates,
    )


# Built once (services/catalog.py says why): the cart and checkout pages list them.
_SHIPPING_CHOICES = (select(ShippingOption).where(ShippingOption.active.is_(True))
                     .order_by(ShippingOption.position, ShippingOption.id))


def shipping_choices() -> list[ShippingOption]:
    """The active shipping methods, in the order the checkout page lists them."""
    return list(db.session.scalars(_SHIPPING_CHOICES))


def shipping_for(code: str, country: str | None, subtotal: int,
                 options: Sequence[ShippingOption] | None = None) -> ShippingMethod:
    """The fee of a method for this destination and items' subtotal (before any discount).

    `options`, when given, are the active methods already read in this transaction (the
    checkout form's choices): the method is taken from them rather than read again.
    """
    if options is not None:
        row = next((option for option in options if option.code == code), None)
    else:
        row = db.session.scalar(select(ShippingOption).where(
            ShippingOption.code == code, ShippingOption.active.is_(True)))
    if row is None:
        raise ShippingUnavailable("Choose one of the shipping methods listed.")
    if not row.serves(country):
        raise ShippingUnavailable(f"{row.name} does not deliver to that country: choose "
                                  "another shipping method.")
    return ShippingMethod(row.code, row.name, shipping_fee(row.amount, row.free_above, subtotal))


def shipping_fee(amount: int, free_above: int | None, subtotal: int) -> int:
    """A method's fee: nothing once the items' subtotal (before discount) reaches `free_above`."""
    return 0 if free_above is not None and subtotal >= free_above else amount


def tax_rates_for(country: str | None) -> tuple[TaxRate, ...]:
    """The destination's rates, all inclusive or all exclusive by PRICES_INCLUDE_TAX."""
    if not country:
        return ()
    return _rates(db.session.scalars(
        select(TaxRule).where(TaxRule.country == country).order_by(TaxRule.id)
    ))


def _rates(rules) -> tuple[TaxRate, ...]:
    inclusive = current_app.config["PRICES_INCLUDE_TAX"]
    return tuple(
        TaxRate(rule.name, Decimal(rule.percentage), inclusive,
                rule.provider_id if rule.has_provider_rate(inclusive) else None)
        for rule in rules
    )


def publish_tax_rates(country: str | None) -> tuple[TaxRate, ...]:
    """Make at the provider the destination's tax rates it does not have yet; return its rates.

    A rule whose percentage or inclusiveness changed since its rate was made gets a new rate
    (the provider's are immutable). When every rate is made already (the usual case) nothing
    is committed and the rates read are returned, for the caller's transaction to price with.
    Otherwise it commits what was read, calls with no transaction open, records each id in
    its own commit and reads the rates again. The idempotency key names the rule's terms, so
    a lost answer retried (or two shoppers at once) gets the same rate back, never a second.
    """
    if not country:
        return ()
    inclusive = current_app.config["PRICES_INCLUDE_TAX"]
    rules = list(db.session.scalars(
        select(TaxRule).where(TaxRule.country == country).order_by(TaxRule.id)
    ))
    missing = [
        (rule.id, rule.name, rule.percentage)
        for rule in rules
        if not rule.has_provider_rate(inclusive)
    ]
    if not missing:
        return _rates(rules)
    db.session.commit()
    for rule_id, name, percentage in missing:
        kind = "inclusive" if inclusive else "exclusive"
        rate_id = gateway().create_tax_rate(
            {"display_name": name, "percentage": percentage, "inclusive": inclusive},
            f"tax-rule-{rule_id}-{percentage}-{kind}",
        )
        db.session.execute(
            update(TaxRule)
            .where(TaxRule.id == rule_id, TaxRule.percentage == percentage)
            .values(provider_id=rate_id, provider_inclusive=inclusive,
                    provider_percentage=percentage)
        )
        db.session.commit()
    return tax_rates_for(country)


def publish_coupon(order: Order) -> None:
    """Make sure the provider has the coupon the order's discount names (no transaction open).

    The coupon's id is named by the code's terms (`discounts.coupon_id`) and sent as its own
    idempotency key: a lost answer retried, or an id made long ago, both give the same coupon.
    """
    discount = order.pricing_context.discount
    currency = order.currency
    db.session.commit()
    if discount is None or discount.provider_coupon_id is None:
        return
    gateway().create_coupon(coupon_params(discount, currency), discount.provider_coupon_id)


def coupon_params(discount: Discount, currency: str) -> dict:
    """The provider's coupon for a discount, good for one use on one session."""
    terms = (
        {"percent_off": discounts.plain(discount.percent_off)}
        if discount.percent_off is not None
        else {"amount_off": discount.amount_off, "currency": currency.lower()}
    )
    return {"id": discount.provider_coupon_id, "duration": "once", "name": discount.code,
            **terms}
