"""Stripe-style identifiers: a type prefix and a random tail (test-mode ids say so)."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def _tail(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """Return a new id such as `pi_3Tsbx…`; checkout sessions get the long `cs_test_` form."""
    if prefix == "cs":
        # The session id is also the capability to pay on the hosted page: keep it long.
        return "cs_test_" + _tail(58)
    return f"{prefix}_{_tail(24)}"
