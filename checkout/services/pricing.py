"""The pricing context of the shop as it stands: currency, destination, and what applies there."""

from flask import current_app

from checkout.domain.pricing import PricingContext


def store_context(country: str | None = None) -> PricingContext:
    """The context a cart is priced in: the store currency; no discount, free shipping, no tax.

    Discounts, shipping methods and tax rules come in through this one place.
    """
    return PricingContext(currency=current_app.config["STORE_CURRENCY"], country=country)
