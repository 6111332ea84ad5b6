"""The back office under /staff: one child blueprint per area, all behind the staff check."""

from flask import Blueprint

from checkout.web.staff import (
    accounts,
    bank_transfers,
    dashboard,
    discounts,
    order_page,
    orders,
    products,
    refunds,
    webhooks,
)
from checkout.web.staff.access import require_staff

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_staff)

for area in (
    accounts, bank_transfers, dashboard, discounts, order_page, orders, products, refunds,
    webhooks,
):
    bp.register_blueprint(area.bp)
