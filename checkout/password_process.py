"""The password process (`python -I checkout/password_process.py`): one hash or one check.

Started by `checkout.models.user` for each password hashed or checked; see there why. It runs
as a lone file, so it imports nothing from the shop. On stdin, JSON: the Argon2 hasher's
parameters, the password (its UTF-8 bytes as text, undecodable bytes escaped as lone
surrogates: "surrogateescape"), and for a check the stored hash, or for a hash from before
Argon2 (werkzeug's scrypt or pbkdf2) `"scheme": "werkzeug"`. On stdout: the new hash, or for a
check one word of VERDICTS.
"""

import json
import sys

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# A check's answer: the password matches; it does not; the stored hash is not an Argon2 hash;
# the hash is Argon2's but damaged (argon2-cffi's VerificationError).
VERDICTS = ("match", "mismatch", "invalid", "damaged")


def run(job: dict) -> str:
    """Hash `job["password"]`, or check it against `job["hash"]` and say how it went."""
    if job.get("scheme") == "werkzeug":
        from werkzeug.security import check_password_hash

        matches = check_password_hash(job["hash"], job["password"])
        return "match" if matches else "mismatch"
    secret = job["password"].encode("utf-8", "surrogateescape")
    parameters = job["parameters"]
    hasher = PasswordHasher(
        time_cost=parameters["time_cost"], memory_cost=parameters["memory_cost"],
        parallelism=parameters["parallelism"], hash_len=parameters["hash_len"],
        salt_len=parameters["salt_len"], type=Type[parameters["type"]])
    if job.get("hash") is None:
        return hasher.hash(secret)
    try:
        hasher.verify(job["hash"], secret)
    except VerifyMismatchError:
        return "mismatch"
    except InvalidHashError:
        return "invalid"
    except VerificationError:
        return "damaged"
    return "match"


def main() -> None:
    sys.stdout.write(run(json.loads(sys.stdin.read())))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
