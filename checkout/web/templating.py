"""Template filters and globals: money through one filter that refuses bad input."""

from datetime import datetime

import pycountry
from flask import Flask

from checkout.domain.availability import availability
from checkout.domain.money import format_money, format_shipping
from checkout.domain.order_status import OrderStatus
from checkout.domain.pricing import MAX_QUANTITY_PER_LINE
from checkout.web.shopper import init_cart_cookie


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


def _datetime(value: datetime) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC")


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


# Where the postal code follows the city on an envelope; elsewhere it comes first.
CITY_FIRST = frozenset({"US", "CA", "AU", "GB", "IE", "NZ", "SG", "JP"})


def _city_line(city: str, postal_code: str, country: str) -> str:
    return f"{city} {postal_code}" if country in CITY_FIRST else f"{postal_code} {city}"


def init_templating(app: Flask) -> None:
    """Register the money and date filters and the store globals."""
    app.add_template_filter(_money, "money")
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(format_shipping, "shipping_fee")
    init_cart_cookie(app)

    app.add_template_global(lambda status: OrderStatus(status).label, "status_label")
    app.add_template_global(_country_name, "country_name")
    app.add_template_global(_city_line, "city_line")
    app.add_template_global(availability, "availability")
    app.add_template_global(MAX_QUANTITY_PER_LINE, "max_quantity")

    @app.context_processor
    def _store() -> dict:
        return {
            "store_name": app.config["STORE_NAME"],
            "store_currency": app.config["STORE_CURRENCY"],
        }
