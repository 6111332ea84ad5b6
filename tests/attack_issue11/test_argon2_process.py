"""Attack (issue 11): Argon2 hashes and checks run in a process of their own
(checkout/password_process.py, started by checkout/models/user.py `_SeparateProcessHasher`).

Guards that hold (passwords of any text round-trip; the password goes to the child on stdin,
never on its command line; an older hash is still replaced at sign-in) and two findings: the
hasher no longer takes every password argon2-cffi's PasswordHasher takes (bytes that are not
UTF-8), and the first check of a password of nobody in a process costs two Argon2 processes
where a real account's check costs one.
"""

import json
import subprocess
import threading
import time

import pytest
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from checkout.models import user as users


def _spy_runs(monkeypatch) -> list[dict]:
    """Record each Argon2 process started (its command line and its job), still running it."""
    real = subprocess.run
    runs: list[dict] = []

    def spy(command, **kwargs):
        runs.append({"command": list(command), "job": json.loads(kwargs["input"])})
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    return runs


@pytest.mark.parametrize("password", [
    "pass\x00word-with-nul",
    "é" * 200,
    "\U0001F600 emoji \u202e bidi \ufeff bom",
    "x" * 20_000,
])
def test_any_text_password_round_trips_through_the_process(password):
    stored = users.hash_password(password)
    account = users.User(email="x@example.com", password_hash=stored)
    assert account.check_password(password)
    assert not account.check_password(password + "!")
    # The hash is the one the library makes and reads in process.
    assert PasswordHasher().verify(stored, password)


def test_the_password_is_never_on_the_processs_command_line(monkeypatch):
    runs = _spy_runs(monkeypatch)
    secret = "command-line-secret-123"
    stored = users.hash_password(secret)
    assert users.User(email="x@example.com", password_hash=stored).check_password(secret)
    assert len(runs) == 2
    for run in runs:
        assert not any(secret in part for part in run["command"])
        assert run["job"]["password"] == secret  # on stdin instead


def test_an_older_hash_is_replaced_when_the_account_signs_in():
    weaker = PasswordHasher(time_cost=1, memory_cost=8192).hash("an-older-password")
    account = users.User(email="x@example.com", password_hash=weaker)
    assert account.check_password("an-older-password") and account.needs_new_hash
    account.set_password("an-older-password")
    assert account.password_hash.startswith("$argon2id$") and not account.needs_new_hash


def test_a_password_given_as_bytes_hashes_and_checks_as_argon2_cffi_does():
    """FINDING (low): `_SeparateProcessHasher` is a PasswordHasher and its methods take
    `str | bytes`, but `_text` decodes bytes as UTF-8 for the JSON job: bytes that are not UTF-8
    (which PasswordHasher hashes and verifies as they are) raise UnicodeDecodeError, and a hash
    made of them before (in process) can no longer be checked."""
    password = b"\xff\xfe latin-1 caf\xe9"
    made_in_process = PasswordHasher().hash(password)
    assert users._hasher.verify(made_in_process, password)
    assert PasswordHasher().verify(users._hasher.hash(password), password)


def test_the_first_check_of_nobody_costs_what_a_real_check_costs(monkeypatch):
    """FINDING (low, timing): an unknown e-mail is answered after one Argon2 check of a dummy
    hash so that it takes as long as a real account's check. The dummy is made lazily
    (`@cache _dummy_hash`), in its own Argon2 process, by the first unknown e-mail a worker
    sees: that answer costs two process starts and two Argon2 runs where a real account's
    costs one (measured here under load: 1.62 s against 0.65 s). Each new worker (every
    start, every `GUNICORN_MAX_REQUESTS` recycle) tells the first prober which address has no
    account; preload_app could make the dummy once in the master before forking."""
    stored = users.hash_password("a-real-accounts-password")
    users._dummy_hash.cache_clear()  # a worker that has not yet seen an unknown address
    runs = _spy_runs(monkeypatch)
    users.User(email="x@example.com", password_hash=stored).check_password("guess-guess-guess")
    real_check = len(runs)
    runs.clear()
    users.check_password_of_nobody("guess-guess-guess")
    assert len(runs) == real_check == 1


def test_checks_of_older_hashes_do_not_fill_a_worker_at_once(monkeypatch):
    """FINDING (low-medium, memory; older than this change), fixed: an account whose hash is
    from before Argon2 (werkzeug's default "scrypt:32768:8:1") was checked by
    `check_password_hash` in the worker itself, outside the Argon2 process and without taking
    turns. Each scrypt check fills 32 MiB, and hashlib lets the threads run together: measured
    here, one check raised a process's peak RSS by 32 MiB and 8 threads at once by 256 MiB.
    Now it is checked in the password process too, one at a time."""
    legacy = generate_password_hash("an-older-password")
    assert legacy.startswith("scrypt:")
    real = subprocess.run
    lock = threading.Lock()
    inside, most, jobs = [0], [0], []

    def counting(command, **kwargs):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            jobs.append(json.loads(kwargs["input"]))
        try:
            time.sleep(0.2)  # long enough for the others to arrive while this one runs
            return real(command, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(subprocess, "run", counting)
    account = users.User(email="old@example.com", password_hash=legacy)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        account.check_password("wrong-password"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [False] * 4
    assert len(jobs) == 4 and all(job["scheme"] == "werkzeug" for job in jobs)
    assert most[0] == 1, f"{most[0]} scrypt checks ran at once in one process"
    assert account.check_password("an-older-password") and account.needs_new_hash
