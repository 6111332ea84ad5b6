"""Money in integer minor units: currency exponents and display formatting."""

import re

import pycountry

# ISO 4217 currencies with no minor unit, as Stripe treats them (amounts are whole units).
ZERO_DECIMAL = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"]
    + ["PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "CHF": "CHF ", "KRW": "₩", "INR": "₹", "CNY": "CN¥", "HKD": "HK$", "SGD": "SGD ",
    "SEK": "SEK ", "NOK": "NOK ", "DKK": "DKK ", "PLN": "PLN ", "MXN": "MX$", "BRL": "R$",
    "ILS": "₪", "VND": "₫", "PHP": "₱", "TWD": "NT$", "THB": "THB ",
}


class MoneyError(ValueError):
    """An amount or currency the shop cannot represent."""


def is_currency(code: str) -> bool:
    """Say whether `code` is an ISO 4217 currency (any letter case)."""
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code.upper()) is not None


def exponent(currency: str) -> int:
    """Return how many minor-unit digits the currency has."""
    code = currency.upper()
    if not is_currency(code):
        raise MoneyError(f"unknown currency {currency!r}")
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


_MAJOR_AMOUNT = re.compile(r"^(\d{1,12})(?:\.(\d+))?$")


def parse_major(text: str, currency: str) -> int:
    """Read an amount typed in major units ("12.30") as exact minor units (1230 for USD).

    No rounding: more decimals than the currency has is an error, as is anything but digits
    and one decimal point (no signs, no thousands separators, no exponents).
    """
    digits = exponent(currency)
    match = _MAJOR_AMOUNT.match((text or "").strip())
    if match is None:
        raise MoneyError("Enter the amount in digits with a decimal point, like 12.30.")
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > digits:
        places = f"{digits} decimal places" if digits else "no decimal places"
        raise MoneyError(f"{currency.upper()} amounts have {places}.")
    return int(whole) * 10**digits + int(fraction.ljust(digits, "0") or "0")


def format_money(amount: int, currency: str) -> str:
    """Render minor units for people: 1999 USD → "$19.99", 1500 JPY → "¥1,500"."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MoneyError(f"amount must be an integer of minor units, got {amount!r}")
    code = currency.upper()
    digits = exponent(code)
    sign = "-" if amount < 0 else ""
    whole, minor = divmod(abs(amount), 10**digits)
    number = f"{whole:,}" + (f".{minor:0{digits}d}" if digits else "")
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"


def format_shipping(amount: int, currency: str) -> str:
    """Render a shipping fee for people: nothing to pay reads "Free"."""
    return format_money(amount, currency) if amount else "Free"
