"""Accounts: shoppers who sign up, and staff who run the shop."""

import secrets
import threading
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db

# The shortest password an account may have, on the sign-up form and on the command line.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200

# Each Argon2 hash or verification fills memory_cost (64 MiB with the defaults) with 4 lanes:
# a worker's threads signing people in at once each held their own buffer, so anyone posting
# the sign-in form from 8 connections put half a GiB in a worker. One at a time per process
# keeps a worker's peak at one buffer; on this 2-core machine two processes hashing 4 lanes
# each already keep every core busy, so the queue costs no throughput.
_ARGON2_AT_ONCE = threading.BoundedSemaphore(1)


class _OneAtATimeHasher(PasswordHasher):
    """PasswordHasher whose hashing and verifying take turns within the process."""

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with _ARGON2_AT_ONCE:
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        with _ARGON2_AT_ONCE:
            return super().verify(hash, password)


# Argon2id with the library's current defaults (RFC 9106's second recommendation).
_hasher = _OneAtATimeHasher()


@cache
def _dummy_hash() -> str:
    # Of a password nobody can type, made once per process with today's settings, so that
    # checking against it costs what checking a real account's hash does.
    return _hasher.hash(secrets.token_urlsafe(32))


def check_password_of_nobody(password: str) -> bool:
    """Spend one Argon2 verification on a dummy hash; always False.

    Signing in with an unknown e-mail does this instead of answering at once, so the time
    taken does not tell which addresses have an account.
    """
    try:
        _hasher.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return False


def hash_password(password: str) -> str:
    """Argon2id hash of a password, as `User.set_password` stores it."""
    return _hasher.hash(password)


class Role(StrEnum):
    SHOPPER = "shopper"
    # Sees every order, fulfils them, writes notes and resolves flags.
    STAFF = "staff"
    # Also refunds, products and stock, discount codes and staff accounts.
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(16), default=Role.SHOPPER)
    # A deactivated account cannot sign in, and a session it already has stops working.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Part of every signed-in session's id: replacing it signs the account out everywhere.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    # When the shopper proved the e-mail is theirs; guest orders join the account only then.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        """End every session of this account: their ids no longer match."""
        self.session_token = new_session_token()

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash.startswith("$argon2"):
            # Hashes from before argon2 (werkzeug's scrypt or pbkdf2) still open the account;
            # signing in replaces them (needs_new_hash).
            return check_password_hash(self.password_hash, password)
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def needs_new_hash(self) -> bool:
        """Say whether the stored hash is of an older scheme or weaker settings than today's."""
        return not self.password_hash.startswith("$argon2") or _hasher.check_needs_rehash(
            self.password_hash
        )
