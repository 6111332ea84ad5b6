"""Parcel carriers: the tracking page of each common one, and a safe link to it.

A carrier staff type that is not in the table gets no link (the shopper still sees the
number): guessing a URL for an unknown carrier would send shoppers somewhere arbitrary.
"""

from urllib.parse import quote

# Lower-cased names and common spellings → the carrier's public tracking page for a number.
TRACKING_URLS: dict[str, str] = {
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/en/express/tracking.html?AWB={number}",
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "parcelforce": "https://www.parcelforce.com/track-trace?trackNumber={number}",
    "dpd": "https://track.dpd.co.uk/parcels/{number}",
    "canada post": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
    "australia post": "https://auspost.com.au/mypost/track/details/{number}",
    "deutsche post": "https://www.deutschepost.de/sendung/simpleQueryResult.html?form.sendungsnummer={number}",
    "la poste": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
    "postnl": "https://jouw.postnl.nl/track-and-trace/{number}",
}
# Other ways staff write the same carriers.
_ALIASES = {
    "united parcel service": "ups",
    "us postal service": "usps",
    "united states postal service": "usps",
    "fed ex": "fedex",
    "dhl express": "dhl",
    "royalmail": "royal mail",
    "colissimo": "la poste",
}
# How the ship form offers the known carriers.
CARRIER_NAMES = (
    "UPS", "USPS", "FedEx", "DHL", "Royal Mail", "Parcelforce", "DPD", "Canada Post",
    "Australia Post", "Deutsche Post", "La Poste", "PostNL",
)


def _key(carrier: str) -> str:
    name = " ".join(carrier.lower().split())
    return _ALIASES.get(name, name)


def tracking_url(carrier: str | None, number: str | None) -> str | None:
    """The carrier's tracking page for this number, or None for an unknown carrier."""
    if not carrier or not number:
        return None
    template = TRACKING_URLS.get(_key(carrier))
    if template is None:
        return None
    # Every character that is not plain alphanumeric is escaped, "/" and "#" too: the number
    # can only ever be a value in the carrier's URL, never a path or a fragment of it.
    return template.format(number=quote(number.strip(), safe=""))
