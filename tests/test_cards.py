"""Card numbers where none belong: what the forms refuse, and what they let through."""

import pytest

from checkout.domain.cards import holds_card_number, luhn_valid


@pytest.mark.parametrize("text", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "Ada 4242424242424242",
    "378282246310005", "6011 1111 1111 1117", "5555-5555-5555-4444",
    "4242424242424242 9", "4242 4242 4242 4242 12", "4000000000000002@example.com",
])
def test_text_holding_a_card_number_is_recognised(text):
    assert holds_card_number(text)


@pytest.mark.parametrize("text", [
    "", "Ada Lovelace", "12 Analytical Row", "12345-6789", "4242424242424241",
    "4242 4242 4242 4241", "424242424242", "SW1A 1AA", "Flat 4242, 4242 Main St",
    "4242  4242  4242  4242 x",  # two spaces: not how a number is grouped
])
def test_text_without_a_card_number_is_left_alone(text):
    assert not holds_card_number(text)


@pytest.mark.parametrize(("digits", "valid"), [
    ("4242424242424242", True), ("79927398713", True), ("79927398710", False), ("0", True),
])
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid
