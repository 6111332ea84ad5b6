"""CSRF on every state-changing form: every POST route of the URL map (the Stripe webhook aside,
which Stripe signs instead) refuses a missing, forged or borrowed token with a 400, and
writes nothing. The same request with the browser's own token is not refused for its token,
which proves the refusal came from the token check and not from a body the view disliked.
"""

from werkzeug.datastructures import MultiDict

from tests.hostile.conftest import World, all_rows
from tests.hostile.strategies import form_fields, real_path, recording_forms, shop_rules, typical
from tests.hostile.test_fuzz_routes import CSRF_REFUSED, TOKEN_OF, Browser


def _post_routes(app):
    return [r for r in shop_rules(app) if "POST" in r.methods]


def test_the_csrf_check_is_on_in_the_test_app(app):
    # The suite's app never turns CSRF off: these tests would prove nothing if it did.
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert len(_post_routes(app)) > 30


def test_every_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(app, world: World):
    stranger = Browser(app.test_client()).token()
    for rule in _post_routes(app):
        browser = Browser(world.client_for(rule.endpoint))
        number = world.number_for(rule.endpoint)
        real = {**world.paths, "number": number}
        if rule.endpoint in TOKEN_OF:
            real["token"] = world.tokens[TOKEN_OF[rule.endpoint]]
        args = MultiDict({} if rule.endpoint.startswith("staff.") else
                         {"t": world.order_tokens[number]})
        path = real_path(rule, real)
        browser.token()  # fetched first: the page it comes from has forms of its own
        with recording_forms() as built:
            browser.send("POST", path, args, MultiDict())
        body = {name: typical(field) for name, field in form_fields(built).items()
                if typical(field) is not None}
        own = browser.token()
        forged = {
            "missing": [],
            "wrong": [own[:-4] + ("AAAA" if not own.endswith("AAAA") else "BBBB")],
            "from another session": [stranger],
            "empty": [""],
            "repeated, one of them wrong": ["forged", own],
        }
        for kind, tokens in forged.items():
            sent = MultiDict(body)
            sent.setlist("csrf_token", tokens)
            before = all_rows(app)
            response = browser.client.post(path, query_string=args, data=sent)
            page = response.get_data(as_text=True)
            where = f"{rule.endpoint} with a {kind} token"
            assert response.status_code == 400, f"{where}: {response.status_code}"
            assert CSRF_REFUSED in page, f"{where}: {page[:500]}"
            assert all_rows(app) == before, f"{where} wrote"

        control = browser.client.post(path, query_string=args,
                                      data=MultiDict({**body, "csrf_token": own}))
        assert CSRF_REFUSED not in control.get_data(as_text=True), rule.endpoint
