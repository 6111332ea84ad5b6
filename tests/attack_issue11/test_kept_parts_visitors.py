"""Attack (issue 11): kept parts (checkout/web/fragments.py) never carry one visitor's own
page to another. Guards for what tests/test_kept_parts.py does not try: a staff member's
header (with "Back office" and a CSRF token), error pages, HEAD before GET, and a second
mount point for the header, the static links and a product page. These hold today."""

import re

from tests.shop import add_to_cart


def _header(page: str) -> str:
    return page.split('<header class="site-header">', 1)[1].split("</header>", 1)[0]


def test_a_staff_members_header_is_never_a_guests(app, products, staff):
    guest = app.test_client()
    add_to_cart(guest, products["MUG"], 1)
    for browser in (staff, guest, staff, guest):
        for path in ("/", "/products/mug", "/products/no-such-product", "/?page=99"):
            page = browser.get(path).get_data(as_text=True)
            header = _header(page)
            if browser is staff:
                assert "Back office" in header and "Sign out" in header
            else:
                assert "Back office" not in page and "Sign out" not in page
                assert "csrf_token" not in header and 'aria-label="1 item"' in header


def test_head_first_then_get_gives_the_whole_page(app, client, products):
    assert client.head("/").status_code == 200
    assert client.head("/products/mug").status_code == 200
    assert "Stoneware Mug" in client.get("/").get_data(as_text=True)
    assert "Stoneware Mug" in client.get("/products/mug").get_data(as_text=True)


def test_the_header_links_and_product_page_follow_the_mount_point(app, products):
    guest = app.test_client()
    plain = guest.get("/products/mug").get_data(as_text=True)
    mounted = guest.get("/products/mug", environ_overrides={"SCRIPT_NAME": "/shop"})
    mounted = mounted.get_data(as_text=True)
    again = guest.get("/products/mug").get_data(as_text=True)
    addresses = re.compile(r'(?:href|src|action)="(/[^"]*)"')
    assert all(not a.startswith("/shop/") for a in addresses.findall(plain))
    assert all(a.startswith("/shop/") for a in addresses.findall(mounted))
    assert addresses.findall(again) == addresses.findall(plain)
