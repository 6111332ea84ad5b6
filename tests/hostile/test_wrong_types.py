"""Values of the wrong type in every field of every form: a clear 4xx, nothing written.

A browser's form sends text (and files in file fields), but a script may send a JSON body
(Flask-WTF reads one into the form: a field then holds a number, a list or an object) or a
file where text is expected. Every POST route of the URL map is sent both, with a valid CSRF
token in its header, for every field its forms read.
"""

import importlib
import io
import json
import pkgutil

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from checkout import forms as form_package
from checkout.forms import ShopForm
from tests.hostile.conftest import World, all_rows
from tests.hostile.strategies import form_fields, real_path, recording_forms, shop_rules, typical
from tests.hostile.test_fuzz_routes import TOKEN_OF, Browser

JSON_VALUES = [10**20, True, ["a", "b"], {"a": 1}]
# Every module of checkout/forms, found rather than listed: a new one is held to the rule too.
FORM_MODULES = [form_package] + [
    importlib.import_module(f"checkout.forms.{info.name}")
    for info in pkgutil.iter_modules(form_package.__path__)
]
JSON_BODIES = ['"text"', "[1, 2]", "[[1, 2, 3]]"]


def test_json_bodies_and_files_in_text_fields_are_a_4xx_that_writes_nothing(app, world: World):
    for rule in [r for r in shop_rules(app) if "POST" in r.methods]:
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
        fields = form_fields(built)
        base = {name: typical(field) for name, field in fields.items()
                if typical(field) is not None}
        headers = {"X-CSRFToken": browser.token()}

        bodies = [("json", raw) for raw in JSON_BODIES]
        # Every field at once holds the wrong type, one type per body.
        bodies += [("json", json.dumps({**base, **dict.fromkeys(fields, value)}))
                   for value in JSON_VALUES]
        bodies += [("file", name) for name in fields]
        for kind, body in bodies:
            before = all_rows(app)
            if kind == "json":
                response = browser.client.post(path, query_string=args, data=body,
                                               headers={**headers,
                                                        "Content-Type": "application/json"})
            else:
                sent = MultiDict({**base, "csrf_token": browser.token()})
                sent.setlist(body, [(io.BytesIO(b"GIF89a<script>"), "x.gif")])
                response = browser.client.post(path, query_string=args, data=sent)
            where = f"{rule.endpoint} given {kind} {body[:80]}"
            assert response.status_code < 500, where
            if response.status_code >= 400:
                assert all_rows(app) == before, where


def test_every_form_of_the_shop_reads_only_what_a_browser_form_sends():
    # ShopForm is what keeps JSON bodies and stray files out of the fields above: a form built
    # straight on FlaskForm would not be.
    forms = [cls for module in FORM_MODULES for cls in vars(module).values()
             if isinstance(cls, type) and issubclass(cls, FlaskForm) and cls is not FlaskForm]
    assert len(forms) > 20
    assert [f.__name__ for f in forms if not issubclass(f, ShopForm)] == []
