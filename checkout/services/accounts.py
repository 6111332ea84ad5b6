"""Accounts: shoppers sign themselves up; staff are made from the command line.

A shopper's guest orders join their account only once they prove the e-mail is theirs: by
opening a signed link mailed to it (`verify_email`), never because they typed it on a form.
"""

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError

from checkout.db import now_utc
from checkout.domain.errors import (
    InvalidPassword,
    InvalidResetLink,
    InvalidVerificationLink,
    WrongPassword,
)
from checkout.extensions import db
from checkout.models import Order, User
from checkout.models.user import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Role,
    check_password_of_nobody,
    hash_password,
)
from checkout.services import notifications

# One reset mail per account in this window, however often the form is sent.
RESET_MAIL_WINDOW_SECONDS = 60 * 60
# One verification mail per account in this window, however often it is asked for.
VERIFY_MAIL_WINDOW_SECONDS = 60 * 60
# One "someone tried to register with your address" mail per account in this window.
ACCOUNT_EXISTS_MAIL_WINDOW_SECONDS = 60 * 60
# Long enough for a mailbox checked once over a weekend.
VERIFY_LINK_HOURS = 72


def _find(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def check_password_rules(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"Use {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters for the password."
        )


def authenticate(email: str, password: str) -> User | None:
    """The account these credentials open, if any; an older password hash is replaced.

    A deactivated account opens nothing: the answer is the same as for a wrong password. An
    unknown or deactivated address still costs one Argon2 verification (of a dummy hash), so
    the time taken does not tell who has an account either.
    """
    user = _find(email.strip())
    if user is None or not user.active:
        check_password_of_nobody(password)
        return None
    if not user.check_password(password):
        return None
    if user.needs_new_hash:
        user.set_password(password)
        db.session.commit()
    return user


def register_shopper(email: str, password: str) -> User | None:
    """Create a shopper account; None if the email is taken. Raises InvalidPassword."""
    check_password_rules(password)
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


def sign_up(email: str, password: str) -> None:
    """Create a shopper account and mail it a confirmation link, or mail the address's owner.

    The caller answers the same either way, and neither case signs anyone in, so the form
    does not tell who has an account. A taken address gets a mail saying someone tried to
    register with it (at most one an hour), and its account is left exactly as it was.
    Raises InvalidPassword.
    """
    user = register_shopper(email, password)
    if user is not None:
        _enqueue_verification(user)
        db.session.commit()
        return
    owner = _find(email.strip())
    if owner is None:
        # Taken a moment ago by a concurrent sign-up and not committed yet after all: as taken.
        return
    # The same Argon2 work a new account's hash costs, so the answer takes as long.
    hash_password(password)
    bucket = int(now_utc().timestamp()) // ACCOUNT_EXISTS_MAIL_WINDOW_SECONDS
    notifications.enqueue_account_exists(owner, bucket)
    db.session.commit()


def create_staff(email: str, password: str, *, admin: bool = False) -> User:
    """Create a staff account, or make an existing account staff with this password.

    An admin stays an admin when asked again without `admin`. Raises InvalidPassword.
    """
    check_password_rules(password)
    email = email.strip().lower()
    user = _find(email) or User(email=email)
    user.set_password(password)
    # An existing account's sessions were opened with another password: they end here.
    user.rotate_session_token()
    user.role = Role.ADMIN if admin or user.role == Role.ADMIN else Role.STAFF
    user.active = True
    db.session.add(user)
    db.session.commit()
    return user


def _password_fingerprint(user: User) -> str:
    # Bound to the current hash: once the password changes, every earlier link is dead.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def password_link_token(user: User, purpose: str) -> str:
    """A signed token that lets its holder choose this account's password once.

    `purpose` ("password-reset", "staff-invitation") salts it: a token of one kind is no
    token of another. Setting a password through it changes the hash, which kills it.
    """
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)
    return serializer.dumps({"user": user.id, "pw": _password_fingerprint(user)})


def user_of_password_link(token: str, purpose: str, *, max_age: int, what: str) -> User:
    """The active account a password link is for; InvalidResetLink if forged, expired or used."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)
    try:
        claim = serializer.loads(token, max_age=max_age)
    except BadSignature:
        raise InvalidResetLink(f"This {what} is not valid or has expired.") from None
    user = db.session.get(User, claim.get("user")) if isinstance(claim, dict) else None
    if user is None or not hmac.compare_digest(
        str(claim.get("pw")), _password_fingerprint(user)
    ):
        raise InvalidResetLink(f"This {what} has already been used.")
    if not user.active:
        raise InvalidResetLink(f"This {what} is for an account that is switched off.")
    return user


def set_password_through_link(user: User, password: str) -> None:
    """Set the password a link was for, and sign the account out of every other browser."""
    check_password_rules(password)
    user.set_password(password)
    # Whoever knew the old password may be signed in somewhere: not any more.
    user.rotate_session_token()


def request_password_reset(email: str) -> bool:
    """Mail a reset link to the account with this e-mail, if there is one; say if there was.

    The form runs this as a job, never in the request: the outbox row and its commit took
    five times as long as finding nobody, so the time of the answer told who has an account.
    """
    user = _find(email.strip())
    if user is None:
        return False
    token = password_link_token(user, "password-reset")
    bucket = int(now_utc().timestamp()) // RESET_MAIL_WINDOW_SECONDS
    notifications.enqueue_password_reset(user, token, bucket)
    db.session.commit()
    return True


def user_of_reset_token(token: str) -> User:
    """The account a reset link is for; raise InvalidResetLink if forged, expired or used."""
    max_age = current_app.config["PASSWORD_RESET_MINUTES"] * 60
    return user_of_password_link(
        token, "password-reset", max_age=max_age, what="password reset link"
    )


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link; the link then stops working.

    Raises InvalidResetLink or InvalidPassword, changing nothing.
    """
    check_password_rules(password)
    user = user_of_reset_token(token)
    set_password_through_link(user, password)
    db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password and sign the account out of every other browser.

    Raises WrongPassword or InvalidPassword, changing nothing. The caller signs its own
    browser in again with the account's new session token.
    """
    if not user.check_password(current):
        raise WrongPassword("That is not your current password.")
    check_password_rules(new)
    user.set_password(new)
    user.rotate_session_token()
    db.session.commit()


def sign_out_everywhere(user: User) -> None:
    """End every signed-in session of the account, this browser's included."""
    user.rotate_session_token()
    db.session.commit()


def _verify_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-verification")


def _email_state(user: User) -> str:
    # Bound to the address and whether it is verified yet: once used, every link is dead.
    verified = user.email_verified_at.isoformat() if user.email_verified_at else ""
    return hashlib.sha256(f"{user.email.lower()}|{verified}".encode()).hexdigest()[:32]


def _guest_orders_of(email: str):
    return (Order.user_id.is_(None), func.lower(Order.email) == email.lower())


def _has_guest_orders(email: str) -> bool:
    return bool(db.session.scalar(select(exists().where(*_guest_orders_of(email)))))


def _attach_guest_orders(user: User) -> int:
    """Give the account every guest order placed with its e-mail (flush only); say how many."""
    result = db.session.execute(
        update(Order)
        .where(*_guest_orders_of(user.email))
        .values(user_id=user.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def request_email_verification(user: User) -> None:
    """Mail the account a link that proves its e-mail; nothing if it is proven already."""
    if user.email_verified_at is not None:
        return
    _enqueue_verification(user)
    db.session.commit()


def _enqueue_verification(user: User) -> None:
    token = _verify_serializer().dumps({"user": user.id, "state": _email_state(user)})
    bucket = int(now_utc().timestamp()) // VERIFY_MAIL_WINDOW_SECONDS
    notifications.enqueue_email_verification(user, token, bucket, VERIFY_LINK_HOURS)


def connect_guest_orders(user: User) -> int:
    """On sign-in or sign-up: attach guest orders if the e-mail is proven, else mail the proof.

    Return how many orders joined the account. An unproven address attaches nothing: anyone
    can sign up with someone else's e-mail. The mail goes only where there is something to
    join, and the page says the same either way, so nobody learns who ordered here.
    """
    if user.email_verified_at is not None:
        attached = _attach_guest_orders(user)
        db.session.commit()
        return attached
    if _has_guest_orders(user.email):
        _enqueue_verification(user)
        db.session.commit()
    return 0


def user_of_verification_token(token: str, signed_in: User | None) -> User:
    """The account a verification link is for; raise InvalidVerificationLink if unusable.

    Forged, expired, already used, or opened while signed in to another account.
    """
    try:
        claim = _verify_serializer().loads(token, max_age=VERIFY_LINK_HOURS * 60 * 60)
    except BadSignature:
        raise InvalidVerificationLink(
            "This verification link is not valid or has expired."
        ) from None
    user = db.session.get(User, claim.get("user")) if isinstance(claim, dict) else None
    if user is None:
        raise InvalidVerificationLink("This verification link is not valid or has expired.")
    if signed_in is not None and signed_in.id != user.id:
        raise InvalidVerificationLink(
            "This verification link is for another account: sign out, then open it again."
        )
    if not hmac.compare_digest(str(claim.get("state")), _email_state(user)):
        raise InvalidVerificationLink("This verification link has already been used.")
    return user


def verify_email(token: str, signed_in: User | None) -> int:
    """Mark the e-mail proven and attach its guest orders, all in one commit; say how many.

    Raises InvalidVerificationLink, changing nothing. A second click finds the link used.
    """
    user = user_of_verification_token(token, signed_in)
    # Conditional on "not yet": of two clicks at once, one verifies and the other is told used.
    claimed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.email_verified_at.is_(None))
        .values(email_verified_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        raise InvalidVerificationLink("This verification link has already been used.")
    attached = _attach_guest_orders(user)
    db.session.commit()
    return attached
