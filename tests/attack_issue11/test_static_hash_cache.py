"""Attack (issue 11): each static file's content hash is now kept per process for its whole life
(checkout/web/static_files.py content_hash), where it was keyed by the file's modification
time. A file replaced under a running worker (a deploy that copies the new files before the
workers restart, a hot fix) must not be served as the year-long immutable copy of its *old*
hash: a browser or CDN would keep the new bytes under the old URL for a year (and after a
rollback show them beside the old pages)."""

import os

from flask import url_for

YEAR = "public, max-age=31536000, immutable"


def test_a_static_file_replaced_under_a_running_worker_is_not_kept_a_year_under_its_old_hash(
    app, client, tmp_path, monkeypatch
):
    css = tmp_path / "css" / "shop.css"
    css.parent.mkdir()
    css.write_text("body { color: black }")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    monkeypatch.setitem(app.extensions, "static_hashes", {})
    with app.test_request_context():
        old_url = url_for("static", filename="css/shop.css")
    with client.get(old_url) as response:
        assert response.headers["Cache-Control"] == YEAR

    css.write_text("body { color: red } /* the deploy's new rules */")
    later = os.stat(css).st_mtime_ns + 2_000_000_000
    os.utime(css, ns=(later, later))

    with client.get(old_url) as response:
        assert b"color: red" in response.data
        served_as = response.headers["Cache-Control"]
    with app.test_request_context():
        new_url = url_for("static", filename="css/shop.css")
    assert new_url != old_url, "pages still link the new file under its old hash"
    assert "immutable" not in served_as, (
        f"the new bytes were served under the old hash as {served_as!r}")
