"""Postal addresses as people write them: the order of city and postal code, country names."""

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
