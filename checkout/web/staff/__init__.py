"""The back office under /staff: one child blueprint per area, all behind the staff check."""

from flask import Blueprint

from checkout.web.staff import dashboard, order_page, orders, refunds
from checkout.web.staff.access import require_staff

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_staff)

for area in (dashboard, order_page, orders, refunds):
    bp.register_blueprint(area.bp)
