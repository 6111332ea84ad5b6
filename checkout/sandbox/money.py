"""Format minor-unit amounts for the hosted page (babel is not a dependency)."""

# Stripe's zero-decimal currencies: the amount is already in whole units.
ZERO_DECIMAL = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
     "xaf", "xof", "xpf"]
)
# Stripe's three-decimal currencies.
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

SYMBOLS = {
    "usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$", "nzd": "NZ$",
    "chf": "CHF ", "krw": "₩", "inr": "₹", "cny": "CN¥", "hkd": "HK$", "sgd": "SGD ",
    "sek": "SEK ", "nok": "NOK ", "dkk": "DKK ", "pln": "PLN ", "mxn": "MX$", "brl": "R$",
    "ils": "₪", "vnd": "₫", "php": "₱", "twd": "NT$", "thb": "THB ",
}


def exponent(currency: str) -> int:
    """Return how many minor-unit digits the currency has."""
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def format_amount(amount: int, currency: str) -> str:
    """Format e.g. 1999 usd as "$19.99" and 1500 jpy as "¥1,500"."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise TypeError(f"amount must be an int of minor units, got {amount!r}")
    code = currency.lower()
    digits = exponent(code)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    number = f"{whole:,}" + (f".{fraction:0{digits}d}" if digits else "")
    symbol = SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{code.upper()} {number}"
    return f"{sign}{symbol}{number}"
