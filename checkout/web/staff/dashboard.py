"""The back office's front page: what needs doing now."""

from flask import Blueprint, render_template

from checkout.services import staff_overview

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """Show the day's figures and the queues that need staff."""
    return render_template("staff/dashboard.html", overview=staff_overview.overview())
