"""Issue 10, finding 4: a form that fails to submit opens with an error summary ("There is a
problem") that links to each field in error, and is what the browser focuses (autofocus).

That focus really lands on the summary is the browser's to show (tests/e2e/test_focus.py);
here every form that can fail is checked: one summary, a link per failed field, every link to
an element the page has.
"""

from html.parser import HTMLParser

from checkout.extensions import db
from checkout.models import User
from checkout.services.accounts import password_link_token
from tests.accounts_support import make_shopper, signed_in_browser
from tests.conftest import csrf_token
from tests.shop import add_to_cart, checkout_form


class _Page(HTMLParser):
    """The ids on a page and the error summaries with their links."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.summaries: list[dict] = []
        self._in_summary = 0
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag in {"input", "meta", "link", "br", "img", "hr"}:
            return
        self._depth += 1
        if "error-summary" in (attributes.get("class") or "").split():
            self.summaries.append({"attrs": attributes, "links": [], "text": ""})
            self._in_summary = self._depth
        elif self._in_summary and tag == "a":
            self.summaries[-1]["links"].append(attributes.get("href"))

    def handle_endtag(self, tag):
        if tag in {"input", "meta", "link", "br", "img", "hr"}:
            return
        if self._in_summary == self._depth:
            self._in_summary = 0
        self._depth -= 1

    def handle_data(self, data):
        if self._in_summary:
            self.summaries[-1]["text"] += data


def summary_of(html: str) -> tuple[dict, set[str]]:
    """The page's only error summary, checked for what every summary must be; and its links."""
    page = _Page()
    page.feed(html)
    assert len(page.summaries) == 1, f"{len(page.summaries)} error summaries"
    summary = page.summaries[0]
    attrs = summary["attrs"]
    assert attrs.get("role") == "alert"
    assert attrs.get("tabindex") == "-1" and "autofocus" in attrs
    assert "There is a problem" in summary["text"]
    targets = set()
    for href in summary["links"]:
        assert href and href.startswith("#"), href
        assert href[1:] in page.ids, f"{href} points at no element on the page"
        targets.add(href[1:])
    return summary, targets


def no_summary(html: str) -> None:
    page = _Page()
    page.feed(html)
    assert page.summaries == []


def test_an_empty_checkout_links_every_required_field(client, products):
    add_to_cart(client, products["MUG"])
    no_summary(client.get("/checkout/").get_data(as_text=True))
    response = client.post("/checkout/", data=checkout_form(client))
    assert response.status_code == 422
    summary, targets = summary_of(response.get_data(as_text=True))
    # (This shop has no shipping method, so no radio group: the browser test has one.)
    assert targets == {"email", "name", "line1", "city", "postal_code", "country"}
    # The field's own message, as shown beside it.
    assert "Enter your email address." in summary["text"]


def test_a_half_filled_checkout_links_only_the_fields_in_error(client, products):
    add_to_cart(client, products["MUG"])
    data = {**checkout_form(client), "email": "not-an-address", "name": "Ada Lovelace",
            "line1": "1 Main St", "city": "Springfield", "postal_code": "12345",
            "country": "US", "shipping_method": "standard"}
    response = client.post("/checkout/", data=data)
    assert response.status_code == 422
    _, targets = summary_of(response.get_data(as_text=True))
    assert targets == {"email"}


def test_a_failed_sign_in_links_the_password(client, app):
    make_shopper(app, "ada@example.com")
    no_summary(client.get("/account/login").get_data(as_text=True))
    response = client.post("/account/login", data={
        "csrf_token": csrf_token(client), "email": "ada@example.com", "password": "wrong one"})
    assert response.status_code == 422
    summary, targets = summary_of(response.get_data(as_text=True))
    assert targets == {"password"}
    assert "do not match an account" in summary["text"]


def test_an_empty_registration_links_each_field(client):
    response = client.post("/account/register", data={
        "csrf_token": csrf_token(client, "/account/register")})
    assert response.status_code == 422
    _, targets = summary_of(response.get_data(as_text=True))
    assert targets == {"email", "password"}


def test_a_missing_address_for_a_reset_link_is_summarised(client):
    response = client.post("/account/forgot", data={
        "csrf_token": csrf_token(client, "/account/forgot"), "email": ""})
    assert response.status_code == 422
    _, targets = summary_of(response.get_data(as_text=True))
    assert targets == {"email"}


def test_a_failed_password_change_is_summarised(app):
    make_shopper(app, "ada@example.com")
    browser = signed_in_browser(app, "ada@example.com")
    no_summary(browser.get("/account/settings").get_data(as_text=True))
    response = browser.post("/account/password", data={
        "csrf_token": csrf_token(browser, "/account/settings"),
        "current_password": "not the password", "password": "x", "confirm": "y"})
    assert response.status_code == 422
    _, targets = summary_of(response.get_data(as_text=True))
    assert targets and targets <= {"current_password", "password", "confirm"}


def test_an_empty_new_password_from_a_reset_link_is_summarised(app, client):
    user_id = make_shopper(app, "ada@example.com")
    with app.app_context():
        token = password_link_token(db.session.get(User, user_id), "password-reset")
        db.session.remove()
    path = f"/account/reset/{token}"
    no_summary(client.get(path).get_data(as_text=True))
    response = client.post(path, data={
        "csrf_token": csrf_token(client, path), "password": "", "confirm": ""})
    assert response.status_code == 422
    _, targets = summary_of(response.get_data(as_text=True))
    assert "password" in targets
