"""Audit (issue 11): what the Argon2 process answers decides who signs in
(checkout/models/user.py `_SeparateProcessHasher`, checkout/password_process.py). Every answer
that is not a clear "match" must keep the account shut, and an answer to a hash job that is not
an Argon2 hash must not be stored as the account's password hash."""

import subprocess

import pytest
from argon2.exceptions import HashingError

from checkout.models import user as users

# A hash of a variant argon2-cffi does not know: it starts with "$argon2", so check_password
# sends it to the Argon2 process, which answers "invalid".
UNKNOWN_VARIANT = "$argon2x$v=19$m=65536,t=3,p=4$PBuTVC5Yx5drDTCYIvh+fw$vAm0nSKwXQTL/PF72L3nfr2"


def _answering(stdout: bytes):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, stdout, b"")
    return run


def test_a_stored_hash_argon2_cannot_read_signs_nobody_in():
    user = users.User(email="ada@example.com", password_hash=UNKNOWN_VARIANT)
    assert user.check_password("any-password-at-all") is False


@pytest.mark.parametrize("answer", [b"", b"yes", b"$argon2id$v=19$m=65536,t=3,p=4$a$b"])
def test_an_argon2_process_that_answers_no_verdict_signs_nobody_in(monkeypatch, answer):
    user = users.User(email="ada@example.com", password_hash=users.hash_password("the-password"))
    monkeypatch.setattr(subprocess, "run", _answering(answer))
    with pytest.raises(HashingError, match="answered"):
        user.check_password("not-the-password")


@pytest.mark.parametrize("answer", [b"", b"match", b"Traceback: something printed"])
def test_an_argon2_process_that_answers_no_hash_is_an_error_not_a_stored_password(
    monkeypatch, answer
):
    """FAILS on main (c74bcf3): `hash_password` returns whatever the process printed, and
    `User.set_password` stores it: "" or "match" as the account's hash locks the account
    with no error anywhere (the PDF renderer's answer is checked for "%PDF", this one is not)."""
    monkeypatch.setattr(subprocess, "run", _answering(answer))
    with pytest.raises(HashingError):
        stored = users.hash_password("a-new-password")
        pytest.fail(f"stored {stored!r} as the password hash")
