"""Attacks on the security headers (issue 9, defect 6): answers the hook let be stored."""

import pytest
from flask import Flask

from tests.staff.conftest import _account
from tests.test_security_headers import assert_security_headers


@pytest.mark.parametrize("path", [
    "/static/no-such-file.css",  # the static endpoint: a file may be kept, its 404 page not
    "/media/products/no-such-image.jpg",
    "/products/no-such-product",
    "/?page=-1",
])
def test_an_error_page_under_a_cacheable_route_is_never_stored(app: Flask, products, path):
    # The error page is the shop's layout: signed in, it carries the sign-out form's CSRF
    # token and the account's links; a 404 is cacheable by default when nothing says no.
    admin = _account(app, "admin@example.com", "admin")
    response = admin.get(path)
    response.close()
    assert response.status_code >= 400, response.status_code
    assert_security_headers(response)
    assert response.headers.get("Cache-Control") == "private, no-store", (
        path, response.status_code, response.headers.get("Cache-Control"))
