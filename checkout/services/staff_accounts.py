"""Staff accounts as admins run them: invite, change role, deactivate, with guard rails.

The shop must never lose its last admin. Every demotion or deactivation of an admin first locks
the rows of all active admins (`FOR UPDATE`; SQLite's BEGIN IMMEDIATE already serialises
writers) and counts them under that lock: two admins demoting each other at once are taken one
after the other, and the second finds itself the last one and is refused.
"""

import logging
import secrets

from flask import current_app
from sqlalchemy import func, select

from checkout.domain.errors import AccountChangeRefused
from checkout.extensions import db
from checkout.models import User
from checkout.models.user import Role
from checkout.services import notifications
from checkout.services.accounts import (
    check_password_rules,
    password_link_token,
    set_password_through_link,
    user_of_password_link,
)

INVITATION = "staff-invitation"

log = logging.getLogger(__name__)

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


def staff_members() -> list[User]:
    """Every staff and admin account, active ones first, then by e-mail."""
    return list(db.session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES))
        .order_by(User.active.desc(), User.email)
    ))


def invite(email: str, role: Role, *, by: User, password: str | None = None) -> User:
    """Make a staff account; with no password, e-mail a link to choose one.

    An existing shopper account whose owner proved the address (a confirmed e-mail) becomes
    staff and keeps its password (the link still lets its owner choose a new one). One never
    proved may be anybody's: its password and sessions are dropped, so only whoever reads the
    mailed link (or knows the password the admin set) gets in. AccountChangeRefused if the
    address is staff already.
    """
    if password is not None:
        check_password_rules(password)
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is not None and user.is_staff:
        raise AccountChangeRefused(f"{email} is a staff account already.")
    if user is None:
        user = User(email=email)
        # Nobody knows this password: the account opens only once its owner chooses one.
        user.set_password(password or secrets.token_urlsafe(32))
        db.session.add(user)
    elif password is not None:
        user.set_password(password)
        user.rotate_session_token()
    elif user.email_verified_at is None:
        user.set_password(secrets.token_urlsafe(32))
        user.rotate_session_token()
    user.role, user.active = role, True
    db.session.flush()
    if password is None:
        token = password_link_token(user, INVITATION)
        notifications.enqueue_staff_invitation(user, token, invited_by=by.email)
    log.info("staff account %s made %s by %s", email, role.value, by.email)
    db.session.commit()
    return user


def user_of_invitation(token: str) -> User:
    """The account an invitation is for; InvalidResetLink if forged, expired or used."""
    max_age = current_app.config["STAFF_INVITATION_DAYS"] * 86400
    return user_of_password_link(token, INVITATION, max_age=max_age, what="invitation link")


def accept_invitation(token: str, password: str) -> User:
    """Choose the password of an invited account; the link then stops working."""
    check_password_rules(password)
    user = user_of_invitation(token)
    set_password_through_link(user, password)
    db.session.commit()
    return user


def _lock_active_admins() -> set[int]:
    """Lock every active admin's row; return their ids (the caller's transaction keeps the lock)."""
    return set(db.session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    ))


def _change(user_id: int, by: User, *, role: Role | None = None, active: bool | None = None,
            what: str) -> User:
    try:
        admins = _lock_active_admins()
        if by.id not in admins:
            # Demoted or deactivated by another admin a moment ago: this request is stale.
            raise AccountChangeRefused("Only an active admin can change staff accounts.")
        user = db.session.get(User, user_id, populate_existing=True)
        if user is None or not user.is_staff:
            raise AccountChangeRefused("There is no such staff account.")
        if user.id == by.id:
            raise AccountChangeRefused("You cannot change your own role or deactivate yourself.")
        losing_admin = user.role == Role.ADMIN and user.active and (
            role == Role.STAFF or active is False)
        if losing_admin and len(admins) <= 1:
            raise AccountChangeRefused(f"{user.email} is the last active admin: make another "
                                       "admin first.")
        if role is not None:
            user.role = role
        if active is not None:
            user.active = active
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    log.info("staff account %s %s by %s", user.email, what, by.email)
    return user


def set_role(user_id: int, role: Role, *, by: User) -> User:
    """Make a staff account staff or admin; AccountChangeRefused for oneself or the last admin."""
    if role not in STAFF_ROLES:
        raise AccountChangeRefused("A staff account is staff or admin.")
    return _change(user_id, by, role=role, what=f"made {role.value}")


def set_active(user_id: int, active: bool, *, by: User) -> User:
    """Deactivate (its sessions stop working) or reactivate a staff account, with the guards."""
    return _change(user_id, by, active=active, what="reactivated" if active else "deactivated")
