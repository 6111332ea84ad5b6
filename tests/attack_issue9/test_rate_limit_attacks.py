"""Attacks on the rate limits of issue 9 (defect 4): ways round the per-address count."""

from flask import Flask

from tests.accounts_support import make_shopper
from tests.test_rate_limits import (
    assert_refused_for_a_while,
    from_address,
    sign_in,
)


def test_one_ipv6_network_cannot_rotate_addresses_past_the_sign_in_limit(app: Flask,
                                                                         limited: Flask):
    # Any IPv6 host is handed a /64 (2^64 addresses): one new address per guess costs nothing.
    make_shopper(app, "ada@example.com")
    for n in range(5):
        # A different account each time, so only the per-address limit (5 a minute) counts.
        response = sign_in(from_address(limited, f"2001:db8:1:2::{n + 1:x}"),
                           f"guess{n}@example.com", "not-the-password")
        assert response.status_code == 422
    assert_refused_for_a_while(sign_in(from_address(limited, "2001:db8:1:2:ffff::9"),
                                       "guess9@example.com", "not-the-password"))
    # Another network is not held back by this one.
    assert sign_in(from_address(limited, "2001:db8:1:3::1"), "guess9@example.com",
                   "not-the-password").status_code == 422


def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(app: Flask, limited: Flask):
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; both spellings are one client.
    for n in range(5):
        address = "203.0.113.77" if n % 2 else "::ffff:203.0.113.77"
        assert sign_in(from_address(limited, address), f"guess{n}@example.com",
                       "not-the-password").status_code == 422
    assert_refused_for_a_while(sign_in(from_address(limited, "203.0.113.77"),
                                       "guess9@example.com", "not-the-password"))
