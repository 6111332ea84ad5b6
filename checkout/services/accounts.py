"""Accounts: shoppers sign themselves up; staff are made from the command line."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from checkout.domain.errors import InvalidPassword
from checkout.extensions import db
from checkout.models import User
from checkout.models.user import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


def _find(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters for the password."
        )


def authenticate(email: str, password: str) -> User | None:
    """The account these credentials open, if any."""
    user = _find(email.strip())
    return user if user is not None and user.check_password(password) else None


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


def create_staff(email: str, password: str) -> User:
    """Create a staff account, or make an existing account staff with this password.

    Raises InvalidPassword.
    """
    _check_password(password)
    email = email.strip().lower()
    user = _find(email) or User(email=email)
    user.set_password(password)
    user.is_staff = True
    db.session.add(user)
    db.session.commit()
    return user
