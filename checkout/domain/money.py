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


# The largest amount Stripe accepts for one price (eight digits of minor units).
MAX_AMOUNT = 99_999_999
# ASCII digits only, and few enough that a typed number can never be huge.
_AMOUNT = re.compile(r"^([0-9]{0,12})(?:\.([0-9]{0,12}))?$")


def parse_amount(text: str, currency: str) -> int:
    """Read an amount typed in major units ("19.99") as exact minor units (1999); MoneyError if not.

    No float ever touches it: more decimals than the currency has is refused, never rounded.
    """
    digits = exponent(currency)
    match = _AMOUNT.match(text.strip().replace(",", ""))
    if match is None or not any(match.groups()):
        raise MoneyError("Enter an amount like 19.99.")
    whole, minor = match.group(1) or "0", (match.group(2) or "").rstrip("0")
    if len(minor) > digits:
        places = f"{digits} decimal places" if digits else "no decimal places"
        raise MoneyError(f"{currency.upper()} amounts have {places}.")
    amount = int(whole) * 10**digits + (int(minor.ljust(digits, "0")) if digits else 0)
    if amount > MAX_AMOUNT:
        raise MoneyError(f"The most an amount may be is {format_money(MAX_AMOUNT, currency)}.")
    return amount


def major_units(amount: int, currency: str) -> str:
    """Minor units as a plain number to edit in a form: 1999 USD → "19.99", 1500 JPY → "1500"."""
    digits = exponent(currency)
    whole, minor = divmod(amount, 10**digits)
    return f"{whole}.{minor:0{digits}d}" if digits else str(whole)
