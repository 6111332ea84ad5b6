"""Card numbers typed into the shop are stored nowhere: not in any text column of any table
(the outbox included), not in any e-mail written to the mail folder.

Shoppers pay on Stripe's page; a card number on ours is a mistake (or a test of us), and a
shop that keeps one is in PCI scope. Every shop route of the URL map (the staff area aside) is
sent the number, plain, with spaces and with dashes, as fields nobody asked for and as the value
of each field its forms read, next to values that would otherwise be accepted.
"""

import re
from email import message_from_bytes, policy
from pathlib import Path

from werkzeug.datastructures import MultiDict

from tests.hostile.conftest import World, all_rows, stored_texts
from tests.hostile.strategies import (
    CARD_NUMBERS,
    form_fields,
    real_path,
    recording_forms,
    shop_rules,
    typical,
)
from tests.hostile.test_fuzz_routes import TOKEN_OF, Browser
from tests.shop import ADDRESS, add_to_cart, submit_checkout
from tests.state import text_of

DIGITS = "4242424242424242"
# Bodies these routes accept (typical values do not make a valid address or a refund request).
ACCEPTED = {
    "checkout.place": {**ADDRESS, "line2": "", "password": "", "payment_method": "card"},
    "orders.request_refund": {"reason": "It arrived chipped."},
}


def _holds_card(text: str) -> bool:
    return DIGITS in re.sub(r"[\s\-.]", "", text)


def _mail_texts(folder: Path) -> list[tuple[str, str]]:
    texts = []
    for eml in sorted(folder.glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        texts.append((eml.name, str(message["Subject"])))
        texts += [(eml.name, part.get_content()) for part in message.walk()
                  if part.get_content_maintype() == "text"]
    return texts


def _chosen_fields(page: str) -> dict[str, str]:
    """The page's hidden values (its one-time token) and its first shipping method."""
    found = re.findall(r'name="([\w-]+)" type="hidden" value="([^"]*)"', page)
    found += re.findall(r'name="(shipping_method)" id="[^"]*" value="([^"]*)"', page)[:1]
    return {name: value for name, value in found if name != "csrf_token"}


def test_card_numbers_sent_to_every_shop_route_are_stored_nowhere(app, world: World,
                                                                  mail_dir):
    rules = [r for r in shop_rules(app) if not r.endpoint.startswith("staff.")]
    sent, accepted = 0, set()
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            browser = Browser(world.client_for(rule.endpoint))
            # The shopper's order has no refund request yet: a request can still be made.
            number = world.mine if rule.endpoint.startswith("orders.") else world.number_for(
                rule.endpoint)
            real = {**world.paths, "number": number}
            if rule.endpoint in TOKEN_OF:
                real["token"] = world.tokens[TOKEN_OF[rule.endpoint]]
            path = real_path(rule, real)
            known = {"t": world.order_tokens[number]}
            browser.token()  # fetched first: the page it comes from has forms of its own
            with recording_forms() as built:
                browser.send(method, path, MultiDict(known), MultiDict())
            fields = form_fields(built)
            base = {name: typical(field) for name, field in fields.items()
                    if typical(field) is not None}
            base.update({f"line-{i}": "1" for i in world.line_ids})
            base.update(ACCEPTED.get(rule.endpoint, {}))
            bodies = []
            for i, name in enumerate(fields):
                card = CARD_NUMBERS[i % len(CARD_NUMBERS)]
                value = f"{card}@example.com" if "email" in name else card
                bodies.append({**base, name: value})
                bodies.append({**base, name: f"Ada {card} Lovelace"[:60]})
            # Last, the numbers only in fields nobody reads: where ACCEPTED gives a valid body,
            # one of these succeeds (the control: the numbers were refused, not everything).
            bodies += [{**base, "card_number": card, "cc-number": card, "note": card}
                       for card in CARD_NUMBERS]
            for body in bodies:
                args = MultiDict({**known, "card": body.get("card_number", DIGITS)})
                if method == "GET":
                    args.update(MultiDict(body))
                    body = {}
                elif rule.endpoint == "checkout.place":
                    # A full cart and the page's own one-time token, so the order would be placed.
                    assert add_to_cart(browser.client, world.plenty, 1).status_code == 303
                    body.update(_chosen_fields(browser.client.get(path).get_data(as_text=True)))
                response = browser.send(method, path, args, MultiDict(body))
                assert response.status_code < 500, (path, body)
                if response.status_code == 303 and rule.endpoint in ACCEPTED:
                    accepted.add(rule.endpoint)
                sent += 1
    assert sent > 100

    stored = [(t, c, v[:80]) for t, c, v in stored_texts(app) if _holds_card(v)]
    assert stored == [], f"card numbers stored: {stored}"
    mailed = [name for name, text in _mail_texts(mail_dir) if _holds_card(text)]
    assert mailed == [], f"card numbers mailed: {mailed}"
    assert accepted == set(ACCEPTED)


def test_a_card_number_typed_at_checkout_is_refused_with_a_reason(app, client, products):
    assert add_to_cart(client, products["MUG"], 1).status_code == 303
    before = all_rows(app)
    response = submit_checkout(client, line2="4242 4242 4242 4242")
    assert response.status_code == 422
    assert "Do not type card details here" in text_of(response)
    assert all_rows(app) == before
