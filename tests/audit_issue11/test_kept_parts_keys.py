"""Audit (issue 11): two keys of the kept parts (checkout/web/fragments.py, checkout/web/shell.py)
that no test could see go wrong.

`tests/test_kept_parts.py::test_the_shop_name_in_the_header_follows_the_settings` sets
STORE_NAME to "Fernhill Supply", which is already the default (checkout/config.py), so it
passes with the shop name left out of the header's key. And nothing changed a stylesheet under a
running worker and looked at the page's <link>: the static-hash tests build URLs with
url_for, which the kept <head> links do not go through again.
"""

import os
import re

from tests.test_kept_parts import _header


def test_a_guests_header_shows_the_shop_name_the_settings_give_now(app, client, monkeypatch):
    assert app.config["STORE_NAME"] != "Harbour & Pine Goods"
    client.get("/")
    monkeypatch.setitem(app.config, "STORE_NAME", "Harbour & Pine Goods")
    assert "Harbour &amp; Pine Goods" in _header(client.get("/").get_data(as_text=True))


def test_a_stylesheet_replaced_under_a_running_worker_is_linked_by_its_new_hash(
    app, client, tmp_path, monkeypatch
):
    for name in ("css/shop.css", "favicon.svg", "js/local-times.js"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"/* {name} */")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    monkeypatch.setitem(app.extensions, "static_hashes", {})

    def linked() -> str:
        page = client.get("/").get_data(as_text=True)
        return re.search(r'href="/static/css/shop\.css\?v=(\w+)"', page).group(1)

    old = linked()
    css = tmp_path / "css" / "shop.css"
    css.write_text("body { color: red } /* the deploy's new rules */")
    later = os.stat(css).st_mtime_ns + 2_000_000_000
    os.utime(css, ns=(later, later))
    assert linked() != old, "pages still link the new stylesheet under its old hash"
