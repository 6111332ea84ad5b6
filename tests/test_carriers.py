"""Tracking links: known carriers get their page, unknown ones none, the number always escaped."""

import pytest

from checkout.domain.carriers import CARRIER_NAMES, TRACKING_URLS, tracking_url


@pytest.mark.parametrize("carrier", CARRIER_NAMES)
def test_every_offered_carrier_has_a_tracking_page(carrier):
    url = tracking_url(carrier, "AB123")
    assert url is not None and url.startswith("https://") and "AB123" in url


@pytest.mark.parametrize(
    ("carrier", "host"),
    [("ups", "www.ups.com"), (" Royal  Mail ", "www.royalmail.com"),
     ("United States Postal Service", "tools.usps.com"), ("Fed Ex", "www.fedex.com")],
)
def test_spellings_of_a_carrier_reach_the_same_page(carrier, host):
    assert tracking_url(carrier, "1").split("/")[2] == host


@pytest.mark.parametrize("carrier", ["Bob's Vans", "", None, "javascript:"])
def test_an_unknown_carrier_gets_no_link(carrier):
    assert tracking_url(carrier, "1Z999") is None


def test_no_number_no_link():
    assert tracking_url("UPS", "") is None and tracking_url("UPS", None) is None


def test_the_number_can_only_be_a_value_in_the_carriers_url():
    url = tracking_url("UPS", "1Z 9/../x?y=1#z&a")
    assert url == "https://www.ups.com/track?tracknum=1Z%209%2F..%2Fx%3Fy%3D1%23z%26a"


def test_every_template_takes_the_number_once():
    assert all(template.count("{number}") == 1 for template in TRACKING_URLS.values())
