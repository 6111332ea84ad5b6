"""Ids in addresses that no database integer can hold: a 404, never a 500.

PostgreSQL refuses to compare an integer column with a value past 2^31 - 1 ("integer out of
range"), and SQLite's driver cannot even bind one past 2^63 - 1. Every `<int:…>` of the URL map
must stop them before the database sees them.
"""

import re

from werkzeug.datastructures import MultiDict

from tests.hostile.conftest import World, all_rows
from tests.hostile.strategies import real_path, shop_rules
from tests.hostile.test_fuzz_routes import Browser

TOO_BIG = [str(2**31), str(2**63), "9" * 30]


def test_every_int_parameter_past_what_a_database_integer_holds_is_a_404(app, world: World):
    rules = [r for r in shop_rules(app) if "<int:" in r.rule]
    assert len(rules) >= 15
    for rule in rules:
        browser = Browser(world.client_for(rule.endpoint))
        number = world.number_for(rule.endpoint)
        real = {**world.paths, "number": number}
        for name in re.findall(r"<int:(\w+)>", rule.rule):
            real[name] = "{big}"
        template = real_path(rule, real).replace("%7Bbig%7D", "{big}")
        for big in TOO_BIG:
            path = template.format(big=big)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                before = all_rows(app)
                response = browser.send(method, path, MultiDict(), MultiDict())
                assert response.status_code == 404, f"{method} {path}: {response.status_code}"
                assert all_rows(app) == before


def test_the_largest_id_an_integer_column_holds_still_routes(client):
    # The bound is the database's, not a smaller one of ours: 2^31 - 1 is asked for, not refused
    # by routing (it names no product, so the view says so).
    response = client.post(f"/cart/lines/{2**31 - 1}/remove")
    assert response.status_code == 400  # reached the view's CSRF check, so it routed
