"""Template filters and globals: money through one filter that refuses bad input."""

from datetime import datetime

from flask import Flask

import pycountry

from checkout.domain.money import format_money
from checkout.domain.order_status import OrderStatus
from checkout.web.shopper import init_cart_cookie


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


def _datetime(value: datetime) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC")


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def init_templating(app: Flask) -> None:
    app.add_template_filter(_money, "money")
    app.add_template_filter(_datetime, "datetime")
    init_cart_cookie(app)

    app.add_template_global(lambda status: OrderStatus(status).label, "status_label")
    app.add_template_global(_country_name, "country_name")

    @app.context_processor
    def _store() -> dict:
        return {
            "store_name": app.config["STORE_NAME"],
            "store_currency": app.config["STORE_CURRENCY"],
        }
