"""Issue 10 in a real browser: axe-core finds no serious or critical violation on any page a
shopper can open, on the sandbox's payment pages (with and without errors) or on the staff
orders list and order page.

Which pages there are is read from the URL map: every GET route of the shopper blueprints must
be visited by the walk (tests/e2e/walk.py) or be named in NOT_PAGES with the reason it is not
a page, so a new shopper page cannot go unchecked. Each page is screenshotted; the violations
of all pages are reported together, so one run says everything that is wrong.
"""

from urllib.parse import urlsplit

from flask import Flask
from playwright.sync_api import Browser, Page
from werkzeug.exceptions import MethodNotAllowed, NotFound

from checkout import create_app
from tests.e2e.support import Screenshots, serious_accessibility_violations
from tests.e2e.walk import walk_every_shopper_page
from tests.served_support import ServedShop

SHOPPER_BLUEPRINTS = ("catalog", "cart", "checkout", "orders", "account", "order_links",
                      "invitation")
# GET routes of the shopper blueprints that answer with something other than an HTML page.
NOT_PAGES = {
    "orders.invoice_pdf": "a PDF document, not an HTML page",
    "orders.credit_note_pdf": "a PDF document, not an HTML page",
}

def shopper_page_endpoints(app: Flask) -> set[str]:
    """Every endpoint a GET reaches in the shopper blueprints."""
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint.split(".")[0] in SHOPPER_BLUEPRINTS}


class Audit:
    """Runs axe-core on each page visited, screenshots it and remembers what it found."""

    def __init__(self, shop: ServedShop, shots: Screenshots) -> None:
        self.base = shop.base
        self.urls = shop.app.url_map.bind("127.0.0.1")
        self.shots = shots
        self.visited: set[str] = set()
        self.checked: list[str] = []
        self.failures: list[str] = []

    def _endpoint(self, page: Page) -> str:
        url = urlsplit(page.url)
        if f"{url.scheme}://{url.netloc}" != self.base:
            return f"elsewhere {url.netloc}"
        try:
            return self.urls.match(url.path, method="GET")[0]
        except MethodNotAllowed:
            # A form's answer re-rendered at its POST address (a page with errors).
            return "POST " + self.urls.match(url.path, method="POST")[0]
        except NotFound:
            return "not found"

    def check(self, page: Page, what: str) -> None:
        page.wait_for_load_state()
        # The shop's error page (a 404, a bad link) proves nothing about the page asked for.
        error_page = page.locator(".error-page").count() > 0
        self.visited.add("error page" if error_page else self._endpoint(page))
        self.checked.append(what)
        self.shots(page, what)
        found = serious_accessibility_violations(page)
        if found:
            self.failures.append(f"{what} ({page.url}):\n    " + "\n    ".join(found))


def test_not_pages_are_shopper_routes():
    """Each route NOT_PAGES excuses still exists (a renamed one would excuse nothing)."""
    app = create_app({
        "TESTING": True, "SECRET_KEY": "url-map", "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "PAYMENTS": "sandbox", "SANDBOX_DATABASE_URL": "sqlite://", "SANDBOX_BACKGROUND": False,
        "JOBS_IMMEDIATE": True,
    })
    endpoints = shopper_page_endpoints(app)
    assert len(endpoints) > 20, endpoints
    assert set(NOT_PAGES) <= endpoints


def test_every_shopper_page_has_no_serious_violation(browser: Browser, shop: ServedShop, shots):
    audit = Audit(shop, shots)
    walk_every_shopper_page(browser, shop, audit.check)
    assert "error page" in audit.visited and len(audit.checked) > 40, audit.checked
    missed = shopper_page_endpoints(shop.app) - audit.visited - set(NOT_PAGES)
    assert not missed, f"shopper pages neither visited nor listed in NOT_PAGES: {missed}"
    assert audit.failures == [], "\n".join(audit.failures)
