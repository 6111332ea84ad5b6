"""Money is integers of minor units; formatting honours each currency's exponent."""

import pytest

from checkout.domain.money import MoneyError, exponent, format_money, parse_amount
from checkout.domain.pricing import PricedLine, PricingContext, price


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1999, "USD", "$19.99"),
        (5, "usd", "$0.05"),
        (0, "EUR", "€0.00"),
        (123456789, "GBP", "£1,234,567.89"),
        (1500, "JPY", "¥1,500"),
        (1500, "KRW", "₩1,500"),
        (1234, "KWD", "KWD 1.234"),
        (900, "isk", "ISK 9.00"),
        (-250, "USD", "-$2.50"),
    ],
)
def test_format_money(amount, currency, shown):
    assert format_money(amount, currency) == shown


@pytest.mark.parametrize("bad", [19.99, "1999", None, True])
def test_format_money_refuses_anything_but_integers(bad):
    with pytest.raises(MoneyError):
        format_money(bad, "USD")


def test_unknown_currency_is_refused():
    with pytest.raises(MoneyError):
        exponent("XYZ")


def test_price_lines_sums_line_totals():
    totals = price(
        [PricedLine("A", "A", 1999, 2), PricedLine("B", "B", 500, 1)], PricingContext("usd")
    )
    assert (totals.subtotal, totals.total, totals.currency) == (4498, 4498, "USD")


@pytest.mark.parametrize(("unit_price", "quantity"), [(-1, 1), (100, 0), (100, 100)])
def test_price_lines_refuses_impossible_lines(unit_price, quantity):
    with pytest.raises(MoneyError):
        price([PricedLine("A", "A", unit_price, quantity)], PricingContext("USD"))


@pytest.mark.parametrize(
    ("free", "text"),
    [(-1, "Sold out"), (0, "Sold out"), (1, "Only 1 left"), (5, "Only 5 left"), (6, "In stock")],
)
def test_availability_words(free, text):
    from checkout.domain.availability import availability

    assert availability(free).text == text


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.30", "USD", 1230), ("12.3", "USD", 1230), ("12", "USD", 1200), (" 0.07 ", "EUR", 7),
     ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("0.1", "KWD", 100)],
)
def test_parse_amount_reads_exact_minor_units(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "why"),
    [("12.345", "USD", "2 decimal places"), ("1500.5", "JPY", "no decimal places"),
     ("-5", "USD", "like 19.99"), ("1e3", "USD", "like 19.99"), ("", "USD", "like 19.99"),
     ("abc", "USD", "like 19.99"), ("1000000", "USD", "The most an amount may be")],
)
def test_parse_amount_refuses_what_it_cannot_read_exactly(text, currency, why):
    with pytest.raises(MoneyError, match=why):
        parse_amount(text, currency)
