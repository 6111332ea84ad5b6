"""Postal addresses as people write them: the order of city and postal code, country names."""

import re

import pycountry

# Where the postal code follows the city on an envelope; elsewhere it comes first.
CITY_FIRST = frozenset({"US", "CA", "AU", "GB", "IE", "NZ", "SG", "JP"})


def city_line(city: str, postal_code: str, country: str) -> str:
    """The city and postal code in the order the destination country writes them."""
    return f"{city} {postal_code}" if country in CITY_FIRST else f"{postal_code} {city}"


def country_name(code: str) -> str:
    """The country's English name for an ISO 3166 alpha-2 code (the code if unknown)."""
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


# How the countries the shop ships to write a postal code, for codes typed without their
# space or dash: (the code with spaces and dashes taken out, the pattern it must then match,
# where the separator goes counted from the end, the separator). A code that does not fit its
# country's rule is only upper-cased (the form's check has already said whether it is valid).
_POSTAL_FORMS = {
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}", 3, " "),
    "IE": (r"[A-Z]\d[\dW][A-Z\d]{4}", 4, " "),
    "CA": (r"[A-Z]\d[A-Z]\d[A-Z]\d", 3, " "),
    "NL": (r"\d{4}[A-Z]{2}", 2, " "),
    "SE": (r"\d{5}", 2, " "),
    "CZ": (r"\d{5}", 2, " "),
    "PL": (r"\d{5}", 3, "-"),
    "PT": (r"\d{7}", 3, "-"),
    "JP": (r"\d{7}", 4, "-"),
}


def normalise_postal_code(country: str, postal_code: str) -> str:
    """The postal code as the country writes it: `sw1a1aa` in GB is `SW1A 1AA`."""
    code = " ".join(postal_code.upper().split())
    rule = _POSTAL_FORMS.get(country)
    if rule is None:
        return code
    pattern, tail, separator = rule
    compact = code.replace(" ", "").replace("-", "")
    if not re.fullmatch(pattern, compact):
        return code
    return f"{compact[:-tail]}{separator}{compact[-tail:]}"
