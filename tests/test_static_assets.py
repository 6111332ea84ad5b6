"""Static files: hashed URLs cached for a year, a favicon, a placeholder for missing images."""

import hashlib
import re
from pathlib import Path

from checkout.extensions import db
from checkout.web import static_files
from tests.factories import ProductFactory

STATIC = Path(__file__).resolve().parent.parent / "static"
YEAR = "public, max-age=31536000, immutable"


def digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def test_pages_link_static_files_by_content_hash_and_those_are_kept_a_year(client, products):
    page = client.get("/").get_data(as_text=True)
    assert f'href="/static/css/shop.css?v={digest("css/shop.css")}"' in page
    with client.get(f"/static/css/shop.css?v={digest('css/shop.css')}") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == YEAR


def test_a_static_url_without_the_current_hash_is_revalidated(client):
    for query in ("", "?v=0123456789ab", "?v=" + "x" * 500):
        with client.get(f"/static/css/shop.css{query}") as response:
            assert response.status_code == 200
            assert "immutable" not in response.headers["Cache-Control"]
            assert "no-cache" in response.headers["Cache-Control"]


def test_every_page_names_a_favicon_and_favicon_ico_is_there(client, products):
    page = client.get("/").get_data(as_text=True)
    [href] = re.findall(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page)
    assert href == f"/static/favicon.svg?v={digest('favicon.svg')}"
    with client.get(href) as response:
        assert response.status_code == 200

    # Asked for by browsers before any page says where the icon is.
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        assert response.get_data() == (STATIC / "favicon.svg").read_bytes()


def test_a_product_without_an_image_shows_the_placeholder(app, client):
    with app.app_context():
        product = ProductFactory(image=None, slug="no-picture")
        db.session.commit()
        db.session.remove()
    for path in ("/", "/products/no-picture"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "/static/img/products/placeholder.svg?v=" in response.get_data(as_text=True)
    assert product is not None


def test_each_static_file_is_hashed_once_per_process_not_per_url(app, client, products,
                                                                  monkeypatch):
    looked_at = []
    real = static_files._hash_now

    def counting(folder, filename):
        looked_at.append(filename)
        return real(folder, filename)

    monkeypatch.setattr(static_files, "_hash_now", counting)
    app.extensions["static_hashes"].clear()
    first = client.get("/").get_data(as_text=True)
    assert "css/shop.css" in looked_at
    assert len(looked_at) == len(set(looked_at)), looked_at
    once = len(looked_at)
    for path in ("/", "/", f"/static/css/shop.css?v={digest('css/shop.css')}"):
        with client.get(path) as response:
            assert response.status_code == 200
    assert len(looked_at) == once, looked_at[once:]
    assert f'href="/static/css/shop.css?v={digest("css/shop.css")}"' in first


def test_the_debug_server_hashes_an_edited_file_again(app, client, monkeypatch):
    looked_at = []
    real = static_files._hash_now
    monkeypatch.setattr(static_files, "_hash_now",
                        lambda folder, name: looked_at.append(name) or real(folder, name))
    monkeypatch.setattr(app, "debug", True)
    for _ in range(2):
        client.get("/")
    assert looked_at.count("css/shop.css") == 2
