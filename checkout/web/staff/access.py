"""Who may use the back office: staff for everything under /staff, admins for some of it.

The staff check runs before every request to the staff blueprint and its children, so a new
page is guarded without anyone remembering to; admin pages say so with `admin_only`.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from checkout.extensions import login_manager


def require_staff():
    """Send a signed-out visitor to sign in (and back); refuse a signed-in non-staff user."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403, "This page is for the shop's staff.")
    return None


def admin_only(view: Callable) -> Callable:
    """Let only admins use this page (refunds, products, discounts, staff accounts)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, "Only an admin can do this.")
        return view(*args, **kwargs)

    guarded.admin_only = True
    return guarded
