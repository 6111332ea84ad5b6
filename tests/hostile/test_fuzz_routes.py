"""Every route of the URL map, fuzzed: never a 5xx, a refusal writes nothing, nothing unstorable.

Routes come from the app's URL map and forms from what each view builds, so a new route or a
new field is fuzzed the day it is added. Each address is called by its audience: the staff
area by a signed-in admin, the account pages by a signed-in shopper, the rest by a guest with
a cart and a paid order (and that order's signed link). Path parameters name real things
(orders, flags, refunds, credit notes, staff, codes) or junk; bodies carry control characters,
markup, huge and odd numbers, 10 000-character values, repeated fields, unknown names, files
in text fields, and JSON bodies of any shape where a form is expected.

HYPOTHESIS_PROFILE=soak runs many more examples per address.
"""

import json

import pytest
from flask.testing import FlaskClient
from hypothesis import given, note
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from checkout import create_app
from tests.conftest import csrf_token
from tests.hostile.conftest import (
    World,
    all_rows,
    bad_stored_values,
    hostile_settings,
)
from tests.hostile.strategies import (
    form_body,
    form_fields,
    json_body,
    path_of,
    query,
    real_path,
    recording_forms,
    shop_rules,
)

CSRF_REFUSED = "This form is out of date or was not sent from our site."
TOKEN_OF = {"account.reset_password": "reset", "account.verify_email": "verify",
            "invitation.accept": "invitation"}


def _routes() -> list[tuple[str, str]]:
    # An app of its own, only to read the URL map when the tests are collected.
    app = create_app({"TESTING": True, "SECRET_KEY": "collect", "PAYMENTS": "sandbox",
                      "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "SANDBOX_DATABASE_URL": "sqlite://", "SANDBOX_BACKGROUND": False})
    return [(rule.endpoint, method) for rule in shop_rules(app)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


ROUTES = _routes()


class Browser:
    """A client and its CSRF token, fetched again once the session that held it is gone."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            for path in ("/account/login", "/account/settings", "/staff/discounts/new", "/cart/"):
                page = self.client.get(path)
                if page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True):
                    self._token = csrf_token(self.client, path)
                    break
            else:
                raise AssertionError("no page with a CSRF token")
        return self._token

    def send_json(self, path: str, args: MultiDict, payload: object):
        return self.client.post(path, query_string=args, data=json.dumps(payload),
                                headers={"X-CSRFToken": self.token(),
                                         "Content-Type": "application/json"})

    def send(self, method: str, path: str, args: MultiDict, body: MultiDict):
        if method == "GET":
            return self.client.get(path, query_string=args)
        body.add("csrf_token", self.token())
        response = self.client.open(path, method=method, query_string=args, data=body)
        if response.status_code == 400 and CSRF_REFUSED in response.get_data(as_text=True):
            self._token = None  # signed out by an earlier example: a new session next time
        return response


def test_every_route_of_the_url_map_is_fuzzed(app):
    live = {(r.endpoint, m) for r in app.url_map.iter_rules()
            for m in r.methods - {"HEAD", "OPTIONS"}
            if r.endpoint not in ("static", "webhooks.stripe_event")}
    assert live == set(ROUTES)
    assert len(ROUTES) > 60


def _group(endpoint: str) -> str:
    # One world per group keeps the folder fast: the staff area by its sections, the rest by
    # blueprint, the smallest put together.
    parts = endpoint.split(".")
    name = ".".join(parts[:2]) if parts[0] == "staff" else parts[0]
    return {"media": "catalog", "invitation": "account", "staff.dashboard": "staff.orders",
            "staff.webhooks": "staff.orders", "staff.bank_transfers": "staff.orders",
            "staff.accounts": "staff.discounts"}.get(name, name)


GROUPS: dict[str, list[tuple[str, str]]] = {}
for _endpoint, _method in ROUTES:
    GROUPS.setdefault(_group(_endpoint), []).append((_endpoint, _method))


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_hostile_requests_never_crash_and_a_refusal_writes_nothing(app, world: World, group):
    for endpoint, method in GROUPS[group]:
        _fuzz(app, world, endpoint, method)


def _fuzz(app, world: World, endpoint: str, method: str) -> None:
    [rule] = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    browser = Browser(world.client_for(endpoint))
    number = world.number_for(endpoint)
    real = {**world.paths, "number": number}
    if endpoint in TOKEN_OF:
        real["token"] = world.tokens[TOKEN_OF[endpoint]]
    known = {} if endpoint.startswith("staff.") else {"t": world.order_tokens[number]}

    # The probe: which forms does this view read, under which field names?
    browser.token()  # fetched first: the page it comes from has forms of its own
    with recording_forms() as built:
        browser.send(method, real_path(rule, real), MultiDict(known), MultiDict())
    fields = form_fields(built)
    extra = tuple(f"line-{i}" for i in world.line_ids)

    @hostile_settings()
    @given(data=st.data())
    def attempt(data):
        note(f"{method} {endpoint}")
        path = data.draw(path_of(rule, real), label="path")
        args = data.draw(query(known), label="query")
        as_json = method == "POST" and data.draw(st.integers(0, 4), label="json?") == 0
        if as_json:
            body = data.draw(json_body(fields), label="json body")
        else:
            body = data.draw(form_body(fields, extra), label="body")
        if method == "GET":
            args.update(body)
            body = MultiDict()
        before = all_rows(app)
        if as_json:
            response = browser.send_json(path, args, body)
        else:
            response = browser.send(method, path, args, body)
        text = response.get_data().decode("utf-8", errors="replace")
        assert response.status_code < 500, text[:2000]
        if 400 <= response.status_code < 500:
            after = all_rows(app)
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            assert not changed, f"a {response.status_code} wrote: {changed}"
        assert bad_stored_values(app) == []

    attempt()
