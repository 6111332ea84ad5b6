"""Stripe's test cards and the checks the hosted page runs on what the shopper typed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Decline:
    """How a test card fails: Stripe's code, decline_code and shopper-facing message."""

    code: str
    decline_code: str | None
    message: str


GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
DECLINES: dict[str, Decline] = {
    "4000000000000002": GENERIC,
    "4000000000009995": Decline("card_declined", "insufficient_funds",
                                "Your card has insufficient funds."),
    "4000000000009987": Decline("card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": Decline("card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": Decline("expired_card", None, "Your card has expired."),
    "4000000000000127": Decline("incorrect_cvc", None, "Your card's security code is incorrect."),
    "4000000000000119": Decline("processing_error", None,
                                "An error occurred while processing your card. "
                                "Try again in a little bit."),
    "4000008400001629": GENERIC,
}
# Cards that pay; these 3-D Secure cards pay without a challenge.
SUCCEEDS = frozenset({
    "4242424242424242", "5555555555554444", "378282246310005", "4000056655665556",
    "4000000000000077", "4000002760003184", "4000000000003220",
})
# 3-D Secure cards whose payment waits for the shopper to pass (or fail) a challenge.
CHALLENGE = frozenset({"4000002500003155"})
# The charge succeeds, but any refund of it fails shortly after it looks succeeded.
REFUND_FAILS = "4000000000005126"
# The charge succeeds, then the cardholder disputes it as fraudulent.
DISPUTED = "4000000000000259"
NOT_A_TEST_CARD = Decline(
    "card_declined", "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test card.",
)


@dataclass
class CardInput:
    """A card as typed on the page, checked; only brand and last4 are ever stored.

    The expiry and CVC are checked and then dropped: they never reach this object.
    """

    number: str = ""
    brand: str = "unknown"
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def last4(self) -> str:
        return self.number[-4:]


def luhn_ok(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> str:
    """Name the card network from the number's prefix."""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if digits[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(digits[:4] or 0) <= 2720:
        return "mastercard"
    if digits.startswith("6011") or digits.startswith("65"):
        return "discover"
    return "unknown"


def check_card(number: str, expiry: str, cvc: str, name: str, *,
               today_year: int, today_month: int) -> CardInput:
    """Validate the card fields the way Stripe's card form does, with its messages."""
    card = CardInput()
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        card.errors["number"] = "Your card number is incomplete."
    elif not re.fullmatch(r"[0-9]+", digits):  # ASCII only: "²".isdigit() is True
        card.errors["number"] = "Your card number is invalid."
    elif len(digits) < 12 or len(digits) > 19:
        card.errors["number"] = "Your card number is incomplete."
    elif not luhn_ok(digits):
        card.errors["number"] = "Your card number is invalid."
    else:
        card.number = digits
        card.brand = brand_of(digits)

    match = re.fullmatch(r"\s*([0-9]{1,2})\s*/?\s*([0-9]{2}|[0-9]{4})\s*", expiry or "")
    if not (expiry or "").strip() or not match:
        card.errors["exp"] = "Your card's expiration date is incomplete."
    else:
        month = int(match.group(1))
        year = int(match.group(2))
        year = year + 2000 if year < 100 else year
        if not 1 <= month <= 12:
            card.errors["exp"] = "Your card's expiration month is invalid."
        elif (year, month) < (today_year, today_month):
            card.errors["exp"] = "Your card's expiration date is in the past."
        elif year > today_year + 50:
            card.errors["exp"] = "Your card's expiration year is invalid."

    cvc = (cvc or "").strip()
    if not cvc:
        card.errors["cvc"] = "Your card's security code is incomplete."
    elif not re.fullmatch(r"[0-9]{3,4}", cvc):
        card.errors["cvc"] = "Your card's security code is invalid."

    if not (name or "").strip():
        card.errors["name"] = "Enter the name on your card."
    return card


def outcome_of(digits: str) -> Decline | None:
    """Return how a (valid) test card number fails, or None when it pays."""
    if digits in DECLINES:
        return DECLINES[digits]
    if digits in SUCCEEDS or digits in CHALLENGE or digits in (REFUND_FAILS, DISPUTED):
        return None
    return NOT_A_TEST_CARD
