"""Money in integer minor units: currency exponents and display formatting."""

import re

import pycountry

from checkout.domain.errors import AboveMaximumCharge, BelowMinimumCharge

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
# Stripe's published minimum charge amounts, in minor units ("Minimum and maximum charge
# amounts", docs.stripe.com/currencies). Stripe refuses a payment below them; for a currency
# not listed it asks for the equivalent of USD 0.50 at the day's exchange rate, which the shop
# cannot know, so those are left to Stripe's own answer.
STRIPE_MINIMUM_CHARGE = {
    "USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50,
    "CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500, "INR": 50,
    "JPY": 50, "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50, "PLN": 200, "RON": 200,
    "SEK": 300, "SGD": 50, "THB": 1000,
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


def minimum_charge(currency: str) -> int | None:
    """The least Stripe charges in this currency, in minor units; None when Stripe lists none."""
    return STRIPE_MINIMUM_CHARGE.get(currency.upper())


def refuse_unchargeable(
    total: int, currency: str, what: str = "order", *, discounted: bool = False
) -> None:
    """Raise UnchargeableTotal for a total Stripe would refuse to charge: above zero but below
    its minimum (BelowMinimumCharge), or past its maximum (AboveMaximumCharge), which also
    keeps every order total within the INTEGER columns that hold it.

    Zero is no payment at all: Stripe completes such a session as `no_payment_required`.
    """
    if total > MAX_AMOUNT:
        raise AboveMaximumCharge(
            f"Stripe can't take a payment over {format_money(MAX_AMOUNT, currency)}, and this "
            f"{what} comes to {format_money(total, currency)}: take some units out of your "
            f"cart, or place it as more than one order."
        )
    minimum = minimum_charge(currency)
    if minimum is not None and 0 < total < minimum:
        remedy = ", or take the discount code off" if discounted else ""
        raise BelowMinimumCharge(
            f"Stripe can't take a payment under {format_money(minimum, currency)}, and this "
            f"{what} comes to {format_money(total, currency)}: add something to your "
            f"cart{remedy}."
        )


# The largest amount Stripe accepts for one price or one charge (eight digits of minor units).
MAX_AMOUNT = 99_999_999
# ASCII digits only, and few enough that a typed number can never be huge.
_AMOUNT = re.compile(r"^([0-9]{0,12})(?:\.([0-9]{0,12}))?\Z")


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
