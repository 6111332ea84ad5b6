"""Accounts: shoppers who sign up, and staff who run the shop."""

import base64
import json
import secrets
import threading
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import (
    HashingError,
    InvalidHashError,
    VerificationError,
    VerifyMismatchError,
)
from argon2.low_level import ARGON2_VERSION
from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from checkout.db import UTCDateTime, now_utc
from checkout.extensions import db
from checkout.lone_process import LoneProcessFailed, run_alone

# The shortest password an account may have, on the sign-up form and on the command line.
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200

# Each Argon2 hash or check fills memory_cost (64 MiB with the defaults), and a check of a
# hash from before Argon2 (werkzeug's scrypt) 32 MiB. Done in a web worker, that raised the
# worker's peak by as much for good at the first sign-in (glibc hands the buffer back, but the
# peak is what the machine must have). It is done in a short-lived process of its own instead
# (checkout/password_process.py, as PDFs are), at the price of the process's start: ~40 ms
# beside the ~55 ms of the hash itself.
_PROCESS = Path(__file__).resolve().parent.parent / "password_process.py"
PROCESS_TIMEOUT_SECONDS = 20
# One at a time per worker: two processes hashing 4 lanes each already keep both cores of
# this machine busy, and a worker's 8 threads posting the sign-in form at once would
# otherwise put 8 such processes (and half a GiB) on it. The queue costs no throughput.
_ARGON2_AT_ONCE = threading.BoundedSemaphore(1)


class _SeparateProcessHasher(PasswordHasher):
    """PasswordHasher whose hashing and checking happen in a process of their own, in turns.

    Its settings (the library's defaults) go with each job, and `check_needs_rehash` reads
    them here: the hashes made are those this class would make in process.
    """

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if salt is not None:
            raise TypeError("the Argon2 process makes its own salt")
        made = self._run(password, None)
        # Stored as the account's hash: anything else would lock the account without a word.
        if not made.startswith(f"$argon2{self.type.name.lower()}$"):
            raise HashingError(f"the Argon2 process answered no hash: {made[:40]!r}")
        return made

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        verdict = self._run(password, hash)
        if verdict == "mismatch":
            raise VerifyMismatchError("the password does not match the hash")
        if verdict == "invalid":
            raise InvalidHashError("the stored hash is not an Argon2 hash")
        if verdict == "damaged":
            raise VerificationError("the stored Argon2 hash is damaged")
        if verdict != "match":
            raise HashingError(f"the Argon2 process answered {verdict[:40]!r}, no verdict")
        return True

    def check_older_scheme(self, stored: str, password: str) -> bool:
        """Check a hash from before Argon2 (werkzeug's scrypt or pbkdf2), in the process too."""
        verdict = self._run(password, stored, scheme="werkzeug")
        if verdict not in ("match", "mismatch"):
            raise HashingError(f"the password process answered {verdict[:40]!r}, no verdict")
        return verdict == "match"

    def _run(self, password: str | bytes, stored: str | bytes | None,
             scheme: str = "argon2") -> str:
        secret = password.encode(self.encoding) if isinstance(password, str) else password
        if isinstance(stored, bytes):
            try:
                stored = stored.decode("ascii")
            except UnicodeDecodeError:
                raise InvalidHashError("the stored hash is not an Argon2 hash") from None
        job = {
            "parameters": {"time_cost": self.time_cost, "memory_cost": self.memory_cost,
                           "parallelism": self.parallelism, "hash_len": self.hash_len,
                           "salt_len": self.salt_len, "type": self.type.name},
            # Bytes as the library would hash them; JSON carries any of them as text.
            "password": secret.decode("utf-8", "surrogateescape"),
            "hash": stored,
            "scheme": scheme,
        }
        try:
            with _ARGON2_AT_ONCE:
                answer = run_alone(_PROCESS, json.dumps(job).encode(),
                                   timeout=PROCESS_TIMEOUT_SECONDS, what="the Argon2 process")
        except LoneProcessFailed as exc:
            raise HashingError(str(exc)) from exc
        return answer.decode("ascii", "replace")


# Argon2id with the library's current defaults (RFC 9106's second recommendation).
_hasher = _SeparateProcessHasher()


@cache
def _dummy_hash() -> str:
    """An Argon2 hash in today's settings that no password matches (its digest is random),
    written out rather than computed: checking against it costs one Argon2 run, as a real
    account's check does, from the first unknown address a worker sees."""
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii").rstrip("=")

    return (f"$argon2{_hasher.type.name.lower()}$v={ARGON2_VERSION}"
            f"$m={_hasher.memory_cost},t={_hasher.time_cost},p={_hasher.parallelism}"
            f"${b64(secrets.token_bytes(_hasher.salt_len))}"
            f"${b64(secrets.token_bytes(_hasher.hash_len))}")


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
            return _hasher.check_older_scheme(self.password_hash, password)
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
