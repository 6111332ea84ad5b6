"""Accounts: shoppers sign themselves up; staff are made from the command line."""

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from checkout.db import now_utc
from checkout.domain.errors import InvalidPassword, InvalidResetLink
from checkout.extensions import db
from checkout.models import User
from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Role
from checkout.services import notifications

# One reset mail per account in this window, however often the form is sent.
RESET_MAIL_WINDOW_SECONDS = 60 * 60


def _find(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters for the password."
        )


def authenticate(email: str, password: str) -> User | None:
    """The account these credentials open, if any; an older password hash is replaced.

    A deactivated account opens nothing: the answer is the same as for a wrong password.
    """
    user = _find(email.strip())
    if user is None or not user.active or not user.check_password(password):
        return None
    if user.needs_new_hash:
        user.set_password(password)
        db.session.commit()
    return user


def register_shopper(email: str, password: str) -> User | None:
    """Create a shopper account; None if the email is taken. Raises InvalidPassword."""
    _check_password(password)
    email = email.strip().lower()
    if _find(email) is not None:
        return None
    user = User(email=email)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return user


def create_staff(email: str, password: str, *, admin: bool = False) -> User:
    """Create a staff account, or make an existing account staff with this password.

    An admin stays an admin when asked again without `admin`. Raises InvalidPassword.
    """
    _check_password(password)
    email = email.strip().lower()
    user = _find(email) or User(email=email)
    user.set_password(password)
    user.role = Role.ADMIN if admin or user.role == Role.ADMIN else Role.STAFF
    user.active = True
    db.session.add(user)
    db.session.commit()
    return user


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def _password_fingerprint(user: User) -> str:
    # Bound to the current hash: once the password changes, every earlier link is dead.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def request_password_reset(email: str) -> None:
    """Mail a reset link to the account with this e-mail, if there is one.

    The caller answers the same either way, so the form does not tell who has an account.
    """
    user = _find(email.strip())
    if user is None:
        return
    token = _reset_serializer().dumps({"user": user.id, "pw": _password_fingerprint(user)})
    bucket = int(now_utc().timestamp()) // RESET_MAIL_WINDOW_SECONDS
    notifications.enqueue_password_reset(user, token, bucket)
    db.session.commit()


def user_of_reset_token(token: str) -> User:
    """The account a reset link is for; raise InvalidResetLink if forged, expired or used."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    try:
        claim = _reset_serializer().loads(token, max_age=max_age)
    except BadSignature:
        raise InvalidResetLink("This password reset link is not valid or has expired.") from None
    user = db.session.get(User, claim.get("user")) if isinstance(claim, dict) else None
    if user is None or not hmac.compare_digest(
        str(claim.get("pw")), _password_fingerprint(user)
    ):
        raise InvalidResetLink("This password reset link has already been used.")
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link; the link then stops working.

    Raises InvalidResetLink or InvalidPassword, changing nothing.
    """
    _check_password(password)
    user = user_of_reset_token(token)
    user.set_password(password)
    db.session.commit()
    return user
