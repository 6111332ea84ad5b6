"""The dashboard's figures for a known set of orders, refunds included, and its chart."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest

from checkout.db import now_utc
from checkout.domain.charts import bar_chart
from checkout.domain.order_status import OrderStatus
from checkout.domain.payment_status import PaymentStatus
from checkout.extensions import db
from checkout.models.order import FlagCode
from checkout.services import staff_overview
from tests.factories import ProductFactory
from tests.staff.orders_support import make_order

S, P = OrderStatus, PaymentStatus


def _shop(today: date) -> dict[str, str]:
    """Orders around `today` (UTC); returns name → order number."""

    def at(days_ago: int, hour: int = 12) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour), UTC)

    def priced(amount: int):
        return ProductFactory(price=amount)

    made = {
        "paid": make_order(product=priced(2000), created_at=at(0, 0), status=S.PAYMENT_CONFIRMED,
                           payment=P.SUCCEEDED),
        "part_refunded": make_order(product=priced(3000), created_at=at(0, 23), status=S.SHIPPED,
                                    payment=P.PARTIALLY_REFUNDED, refunded=1000,
                                    flag=FlagCode.DISPUTED),
        "refunded": make_order(product=priced(1500), created_at=at(0), status=S.CANCELLED,
                               payment=P.REFUNDED, refunded=1500, flag=FlagCode.REFUND_FAILED),
        "settling": make_order(product=priced(800), created_at=at(0), status=S.PAYMENT_PROCESSING,
                               payment=P.PROCESSING),
        "unpaid": make_order(product=priced(900), created_at=at(0), status=S.PENDING_PAYMENT),
        "failed": make_order(product=priced(700), created_at=at(0), status=S.EXPIRED,
                             payment=P.FAILED),
        "euro": make_order(product=priced(5000), created_at=at(0), status=S.PAYMENT_CONFIRMED,
                           payment=P.SUCCEEDED, currency="EUR"),
        "yesterday": make_order(product=priced(4000), created_at=at(1, 23),
                                status=S.AWAITING_SHIPMENT, payment=P.SUCCEEDED),
        "first_day": make_order(product=priced(1000), created_at=at(29, 0), status=S.DELIVERED,
                                payment=P.SUCCEEDED),
        "too_old": make_order(product=priced(6000), created_at=at(30, 23), status=S.DELIVERED,
                              payment=P.SUCCEEDED),
        "resolved_flag": make_order(product=priced(100), created_at=at(40), status=S.DELIVERED,
                                    flag=FlagCode.STOCK_SHORTAGE, flag_resolved_at=at(39)),
    }
    ProductFactory(sku="LOW-3", title="Three left", on_hand=3)
    ProductFactory(sku="OUT-0", title="Sold out", on_hand=0)
    ProductFactory(sku="OK-4", title="Four left", on_hand=4)
    ProductFactory(sku="GONE", title="Retired", on_hand=0, is_active=False)
    return {name: order.number for name, order in made.items()}


def test_figures_count_paid_orders_and_revenue_net_of_refunds_per_utc_day(app, ctx):
    today = date(2026, 3, 10)
    numbers = _shop(today)
    db.session.remove()
    overview = staff_overview.overview(currency="USD", low_stock_threshold=3, today=today)

    # Today: paid 2000, kept 3000-1000, refunded 1500 in full (paid, then all given back).
    assert (overview.today.day, overview.today.orders, overview.today.revenue) == (
        today, 3, 2000 + 2000 + 0)
    assert len(overview.days) == 30
    assert overview.days[0].day == today - timedelta(days=29)
    assert [(d.orders, d.revenue) for d in overview.days if d.orders] == [
        (1, 1000), (1, 4000), (3, 4000)]
    assert (overview.period_orders, overview.period_revenue) == (5, 9000)
    # To ship: paid (USD), euro, yesterday's; waiting for payment: settling, unpaid.
    assert (overview.to_ship, overview.payment_pending, overview.flagged) == (3, 2, 2)
    flagged = {f.number: [(code, label) for code, label, _ in f.flags]
               for f in overview.flagged_orders}
    assert flagged == {
        numbers["part_refunded"]: [("disputed", "Dispute")],
        numbers["refunded"]: [("refund_failed", "Refund failed")],
    }
    assert [(p.sku, p.available) for p in overview.low_stock] == [("OUT-0", 0), ("LOW-3", 3)]


def test_the_threshold_setting_decides_what_is_low(app, ctx):
    _shop(date(2026, 3, 10))
    assert [p.sku for p in staff_overview.overview("USD", 0).low_stock] == ["OUT-0"]
    assert "OK-4" in [p.sku for p in staff_overview.overview("USD", 4).low_stock]


def test_the_page_shows_the_figures_the_chart_and_its_table(app, staff):
    with app.app_context():
        numbers = _shop(now_utc().date())
    page = staff.get("/staff/").get_data(as_text=True)

    def figure(name: str) -> str:
        return re.search(rf'id="{name}">([^<]+)<', page).group(1)

    assert (figure("orders-today"), figure("revenue-today")) == ("3", "$40.00")
    assert (figure("orders-30"), figure("revenue-30")) == ("5", "$90.00")
    assert (figure("to-ship"), figure("payment-pending"), figure("flagged")) == ("3", "2", "2")
    assert "UTC" in page and "net of refunds" in page
    # Two server-rendered SVG charts with a title and description, 30 bars each.
    assert page.count("<svg") == 2
    assert '<title id="orders-chart-title">' in page and '<desc id="revenue-chart-desc">' in page
    assert page.count('<rect class="bar"') == 60
    # The chart is server-rendered SVG: no script draws it (the page's only script is the
    # shared static one that shows times in the browser's zone).
    assert "<script>" not in page and page.count("<script") == 1
    # The table the charts stand on, for screen readers and for copying.
    assert page.count('<tr><th scope="row">') == 30
    for name in ("part_refunded", "refunded"):
        assert numbers[name] in page
    assert numbers["resolved_flag"] not in page
    assert "Dispute" in page and "Refund failed" in page and "Stock shortage" not in page
    assert "Three left" in page and "Sold out" in page
    assert "Four left" not in page and "Retired" not in page


def test_bars_scale_to_the_largest_day_and_refuse_negative_values():
    chart = bar_chart([("a", 0), ("b", 5), ("c", 10)], width=300, height=118)
    plot = 118 - 18
    assert [b.height for b in chart.bars] == [0, plot / 2, plot]
    assert [b.y + b.height for b in chart.bars] == [plot] * 3
    assert chart.bars[1].x == 101.0 and chart.bars[1].width == 98.0
    assert [b.height for b in bar_chart([("a", 0), ("b", 0)]).bars] == [0, 0]
    with pytest.raises(ValueError, match="no negative bars"):
        bar_chart([("a", -1)])
