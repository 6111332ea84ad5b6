"""Template filters and globals: money through one filter that refuses bad input."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for

from checkout.domain.addresses import city_line, country_name
from checkout.domain.availability import availability
from checkout.domain.money import format_money, format_shipping
from checkout.domain.order_status import OrderStatus
from checkout.domain.pricing import MAX_QUANTITY_PER_LINE
from checkout.models.order import FlagCode
from checkout.services import images
from checkout.services.order_refunds import reason_label, refund_state
from checkout.web.shopper import init_cart_cookie
from checkout.web.static_files import content_hash


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


PLACEHOLDER_IMAGE = "img/products/placeholder.svg"


def _image_url(path: str | None) -> str:
    """Where a product's image is served: an upload by its route, anything else from static/."""
    name = images.stored_name(path)
    if name is not None:
        return url_for("media.product_image", name=name)
    return url_for("static", filename=path or PLACEHOLDER_IMAGE)


def image_version(path: str | None) -> str | None:
    """What `image_url` puts in the address that the path alone does not: the hash of a file
    under static/ (it changes when the file is replaced). An upload's name is never reused."""
    if images.stored_name(path) is not None:
        return None
    return content_hash(path or PLACEHOLDER_IMAGE)


def _datetime(value: datetime) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC")


def _local_datetime(value: datetime) -> str:
    """A time as the shopper reads it: in the store's zone, with the zone's abbreviation."""
    zone = ZoneInfo(current_app.config.get("STORE_TIMEZONE") or "UTC")
    return value.astimezone(zone).strftime("%d %b %Y, %H:%M %Z")


def init_templating(app: Flask) -> None:
    """Register the money and date filters and the store globals."""
    app.add_template_filter(_money, "money")
    app.add_template_filter(_datetime, "datetime")
    app.add_template_filter(_local_datetime, "local_datetime")
    app.add_template_filter(format_shipping, "shipping_fee")
    init_cart_cookie(app)

    app.add_template_global(lambda status: OrderStatus(status).label, "status_label")
    app.add_template_global(lambda code: FlagCode(code).label, "flag_label")
    app.add_template_global(country_name, "country_name")
    app.add_template_global(city_line, "city_line")
    app.add_template_global(availability, "availability")
    app.add_template_global(_image_url, "image_url")
    app.add_template_global(MAX_QUANTITY_PER_LINE, "max_quantity")
    # An order's refunds and its "partially refunded"/"refunded" label, for any page.
    app.add_template_global(refund_state, "refund_state")
    app.add_template_global(reason_label, "refund_reason")

    @app.context_processor
    def _store() -> dict:
        return {
            "store_name": app.config["STORE_NAME"],
            "store_currency": app.config["STORE_CURRENCY"],
        }
