"""The back office's front page: what needs doing now."""

from flask import Blueprint, current_app, render_template

from checkout.domain.charts import bar_chart
from checkout.services import reconciliation, staff_overview

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """Show the day's and the month's figures and the queues that need staff."""
    overview = staff_overview.overview(
        currency=current_app.config["STORE_CURRENCY"],
        low_stock_threshold=current_app.config["LOW_STOCK_THRESHOLD"],
    )
    return render_template(
        "staff/dashboard.html",
        overview=overview,
        orders_chart=bar_chart([(d.day.isoformat(), d.orders) for d in overview.days]),
        revenue_chart=bar_chart([(d.day.isoformat(), d.revenue) for d in overview.days]),
        reconciliation=reconciliation.latest_run(),
    )
