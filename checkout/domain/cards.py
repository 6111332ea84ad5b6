"""Payment card numbers where none belong: shoppers pay on Stripe's page, never on ours.

A shop that stores a card number (a shopper who typed it into the address form, an e-mail
address made of one) is in PCI DSS scope for it, and sends it on to Stripe's metadata and to
every mail it writes. Forms refuse such text instead.
"""

import re

# 13 to 19 digits, each optionally followed by one space or dash, as people write them.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
PAN_LENGTHS = range(13, 20)


def luhn_valid(digits: str) -> bool:
    """Say whether a string of digits passes the Luhn check every card number passes."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def holds_card_number(text: str) -> bool:
    """Say whether `text` holds what looks like a card number (13-19 digits, Luhn-valid).

    Digits may be grouped by single spaces or dashes, as people write them. Within a longer
    run, any whole groups that add up to a card's length count too ("4242 4242 4242 4242 12"),
    but not arbitrary slices: a slice of a long number is no sign of a card.
    """
    for run in _DIGIT_RUN.findall(text or ""):
        groups = re.split(r"[ -]", run)
        for first in range(len(groups)):
            for last in range(first + 1, len(groups) + 1):
                digits = "".join(groups[first:last])
                if len(digits) in PAN_LENGTHS and luhn_valid(digits):
                    return True
    return False
