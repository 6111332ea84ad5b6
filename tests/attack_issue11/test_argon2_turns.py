"""Attack (issue 11): Argon2 hashing and verifying take turns within a process (a semaphore in
checkout/models/user.py). A hash that fails, or a verification of a damaged hash, must give
the turn back; checking a password of nobody (which hashes its dummy first) must not wait on
itself."""

import subprocess
import threading

import pytest
from argon2.exceptions import HashingError

from checkout.models import user as users


def _in_thread(work, timeout: float = 20.0):
    result = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "stuck waiting for the Argon2 turn"
    return result[0]


def test_a_hash_that_fails_gives_its_turn_back(monkeypatch):
    real = subprocess.run
    calls = []

    def failing_once(command, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # the Argon2 process ran out of memory
            return subprocess.CompletedProcess(command, 1, b"", b"MemoryError")
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", failing_once)
    with pytest.raises(HashingError, match="MemoryError"):
        users.hash_password("first-password")
    assert _in_thread(lambda: users.hash_password("second-password")).startswith("$argon2id$")


def test_damaged_hashes_and_unknown_accounts_give_the_turn_back():
    user = users.User(email="x@example.com", password_hash="$argon2id$v=19$m=65536,t=3,p=4$bad")
    assert _in_thread(lambda: user.check_password("whatever-password")) is False
    user.password_hash = "$argon2id$garbage"
    assert _in_thread(lambda: user.check_password("whatever-password")) is False
    users._dummy_hash.cache_clear()  # the first check of nobody hashes its dummy, then verifies
    assert _in_thread(lambda: users.check_password_of_nobody("whatever-password")) is False
    assert _in_thread(lambda: users.hash_password("afterwards-password")).startswith("$argon2")
