"""Currencies as Stripe treats them: ISO 4217 codes, minor-unit exponents, display text."""

from __future__ import annotations

import pycountry

# Stripe's zero-decimal currencies: amounts are whole units.
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "CHF": "CHF ", "KRW": "₩", "INR": "₹", "CNY": "CN¥", "HKD": "HK$", "SGD": "SGD ",
    "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK ", "PLN": "PLN ", "MXN": "MX$", "BRL": "R$",
    "ILS": "₪", "VND": "₫", "PHP": "₱", "TWD": "NT$", "THB": "THB ",
}
# Stripe's published minimum charge amounts in minor units (docs.stripe.com/currencies,
# "Minimum and maximum charge amounts"). Other currencies: the equivalent of USD 0.50 at the
# day's rate, which a sandbox has no rate for, so it refuses nothing in them.
MINIMUM_CHARGE = {
    "USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50,
    "CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500, "INR": 50,
    "JPY": 50, "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50, "PLN": 200, "RON": 200,
    "SEK": 300, "SGD": 50, "THB": 1000,
}


def is_currency(code: str) -> bool:
    """Say whether `code` is an ISO 4217 currency (any letter case)."""
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code.upper()) is not None


def exponent(currency: str) -> int:
    """Return how many minor-unit digits `currency` has; raise ValueError if it is unknown."""
    code = currency.upper()
    if not is_currency(code):
        raise ValueError(f"unknown currency {currency!r}")
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def format_amount(amount: int, currency: str) -> str:
    """Render minor units for the hosted page: 1999 usd → "$19.99", 1500 jpy → "¥1,500"."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValueError(f"amount must be an integer of minor units, got {amount!r}")
    code = currency.upper()
    digits = exponent(code)
    sign = "\u2212" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits)
    number = f"{whole:,}" + (f".{minor:0{digits}d}" if digits else "")
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"
