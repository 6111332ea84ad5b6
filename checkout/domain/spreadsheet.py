"""Cells for CSV files that staff open in a spreadsheet: amounts as numbers, no formulas."""

from decimal import Decimal

from checkout.domain.money import exponent

# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV Injection"):
# a shopper's name "=HYPERLINK(…)" must arrive as text, not run when staff open the file.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """Return `value` as a spreadsheet shows it literally: a leading apostrophe before a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def major_units(amount: int, currency: str) -> str:
    """Render minor units as plain major units: 1999 USD → "19.99", JPY 1500 → "1500"."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValueError(f"amount must be an integer of minor units, got {amount!r}")
    return format(Decimal(amount).scaleb(-exponent(currency)), "f")
