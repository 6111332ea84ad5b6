"""The back office under /staff: one child blueprint per area, all behind the staff check."""

from flask import Blueprint

from checkout.web.staff import bank_transfers, dashboard, webhooks
from checkout.web.staff.access import require_staff

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.before_request(require_staff)

for area in (dashboard, bank_transfers, webhooks):
    bp.register_blueprint(area.bp)
