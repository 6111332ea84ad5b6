"""Products (admin): create and edit with exact prices, checked images, the active flag."""

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Product, StockMovement, User
from checkout.models.inventory import MovementReason
from tests.conftest import csrf_token
from tests.factories import ProductFactory
from tests.staff.admin_support import (
    assert_refused,
    catalog_state,
    detached,
    image_bytes,
    png_declaring,
)
from tests.state import text_of

NEW = "/staff/products/new"


def _form(client, path=NEW, image: tuple[bytes, str] | None = None, **overrides) -> dict:
    data = {"csrf_token": csrf_token(client, path), "title": "Brass Pen", "description": "Heavy.",
            "price": "19.99", "sku": "pen-01", "slug": "", "is_active": "y",
            "initial_stock": "5"}
    data.update(overrides)
    if image is not None:
        data["image"] = (io.BytesIO(image[0]), image[1])
    return data


def _post(client, path=NEW, **kwargs):
    return client.post(path, data=_form(client, path, **kwargs),
                       content_type="multipart/form-data")


def _stored_files(app) -> set[str]:
    return {p.name for p in Path(app.config["UPLOAD_FOLDER"]).glob("*")}


def _only_product(app) -> Product:
    return detached(app, Product)


def test_an_admin_adds_a_product_with_an_exact_price_an_image_and_opening_stock(app, admin):
    response = _post(admin, image=(image_bytes("PNG"), "pen.png"))
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        product = db.session.scalar(select(Product))
        assert (product.title, product.price, product.sku, product.slug) == (
            "Brass Pen", 1999, "PEN-01", "brass-pen")
        assert product.stock.on_hand == 5 and product.is_active
        [movement] = db.session.scalars(select(StockMovement))
        admin_id = db.session.scalar(select(User.id).where(User.email == "admin@example.com"))
        assert (movement.delta, movement.reason, movement.user_id) == (
            5, MovementReason.ADJUSTMENT, admin_id)
        stored = Path(app.config["UPLOAD_FOLDER"]) / product.image.removeprefix("uploads/")
        assert product.image.startswith("uploads/") and product.image.endswith(".png")
        assert stored.read_bytes().startswith(b"\x89PNG")
    listing = text_of(admin.get("/staff/products/"))
    assert "Brass Pen" in listing and "$19.99" in listing
    with admin.get("/" + product.image) as served:
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.get_data().startswith(b"\x89PNG")
    page = text_of(admin.get("/products/brass-pen"))
    assert f'src="/{product.image}"' in page


@pytest.mark.parametrize("kind,extension,mimetype", [("JPEG", "jpg", "image/jpeg"),
                                                     ("WEBP", "webp", "image/webp")])
def test_jpeg_and_webp_images_are_taken_and_served_as_themselves(app, admin, kind, extension,
                                                                   mimetype):
    assert _post(admin, image=(image_bytes(kind), f"x.{extension}")).status_code == 303
    product = _only_product(app)
    assert product.image.endswith(f".{extension}")
    with admin.get("/" + product.image) as served:
        assert served.mimetype == mimetype


@pytest.mark.parametrize("price,message", [
    ("19.999", "USD amounts have 2 decimal places."),
    ("abc", "Enter an amount like 19.99."),
    ("-5", "Enter an amount like 19.99."),
    ("1e3", "Enter an amount like 19.99."),
    ("1000000", "The most an amount may be is $999,999.99."),
    ("", "Enter a price."),
])
def test_a_bad_price_gets_the_form_again_and_writes_nothing(app, admin, price, message):
    assert_refused(app, lambda: _post(admin, price=price), message)


@pytest.mark.parametrize("overrides,message", [
    ({"title": "x" * 201}, "Keep the title to 200 characters."),
    ({"title": ""}, "Enter a title."),
    ({"sku": "bad sku!"}, "A SKU is up to 64 letters"),
    ({"slug": "Not A Slug"}, "A slug is lower-case letters and digits joined by '-'."),
    ({"initial_stock": "-1"}, "Enter 0 to"),
    ({"title": "!!!", "slug": ""}, "The title gives no address: type a slug."),
])
def test_bad_details_get_the_form_again_and_write_nothing(app, admin, overrides, message):
    assert_refused(app, lambda: _post(admin, **overrides), message)


def test_a_taken_sku_or_slug_is_refused(app, admin):
    with app.app_context():
        ProductFactory(sku="PEN-01", slug="other")
        ProductFactory(sku="OTHER", slug="brass-pen")
    before = catalog_state(app)
    response = _post(admin)
    assert response.status_code == 422
    assert "Another product already has the SKU PEN-01." in text_of(response)
    response = _post(admin, sku="NEW-1")
    assert response.status_code == 422
    assert "Another product already has the address (slug) brass-pen." in text_of(response)
    assert catalog_state(app) == before


@pytest.mark.parametrize("upload,message", [
    ((b"just some text, not a picture\n" * 10, "photo.png"), "not a PNG, JPEG or WebP image"),
    ((image_bytes("GIF"), "animation.png"), "Upload a PNG, JPEG or WebP image."),
    ((image_bytes("PNG")[:60], "cut.png"), "damaged or cut short"),
    ((png_declaring(60_000, 60_000), "bomb.png"), "too many pixels: at most 6000 on a side"),
    ((png_declaring(7_000, 10), "wide.png"), "7000×10 pixels: at most 6000 on a side"),
    ((png_declaring(5_000, 5_001), "big.png"), "5000×5001 pixels"),
])
def test_a_file_that_is_not_a_safe_image_is_refused_and_nothing_is_stored(app, admin, upload,
                                                                            message):
    before, files = catalog_state(app), _stored_files(app)
    response = _post(admin, image=upload)
    assert response.status_code == 422
    assert message in text_of(response)
    assert catalog_state(app) == before
    assert _stored_files(app) == files


def test_an_image_over_the_size_limit_gets_a_clear_422(app, admin, monkeypatch):
    big = image_bytes("PNG", (200, 200), noise=True)
    monkeypatch.setitem(app.config, "PRODUCT_IMAGE_MAX_BYTES", len(big) - 1)
    assert_refused(app, lambda: _post(admin, image=(big, "big.png")), "The image is too large")


def test_a_body_far_over_the_upload_limit_gets_a_clear_413(app, admin, monkeypatch):
    monkeypatch.setitem(app.config, "PRODUCT_IMAGE_MAX_BYTES", 10_000)
    assert_refused(app, lambda: _post(admin, image=(b"\x89PNG" + b"0" * 400_000, "huge.png")),
                   "What you sent is too large", status=413)


def test_other_forms_keep_the_small_body_limit(app, admin):
    response = admin.post("/cart/add", data={"csrf_token": "x", "blob": "y" * 1_100_000})
    assert response.status_code == 413


def test_the_image_route_serves_only_stored_names(app, admin):
    assert admin.get("/uploads/..%2Fsecret_key").status_code == 404
    assert admin.get("/uploads/" + "a" * 32 + ".svg").status_code == 404
    assert admin.get("/uploads/" + "a" * 32 + ".png").status_code == 404


def test_editing_changes_the_details_and_keeps_the_image_when_none_is_sent(app, admin):
    _post(admin, image=(image_bytes("PNG"), "pen.png"))
    product = _only_product(app)
    path = f"/staff/products/{product.id}"
    form = text_of(admin.get(path))
    assert 'value="19.99"' in form and 'value="PEN-01"' in form
    response = _post(admin, path, title="Brass Pen, large", price="24.5", sku="PEN-01",
                     slug="brass-pen")
    assert response.status_code == 303, text_of(response)
    edited = _only_product(app)
    assert (edited.title, edited.price, edited.image) == ("Brass Pen, large", 2450, product.image)
    replaced = _post(admin, path, image=(image_bytes("WEBP"), "new.webp"), slug="brass-pen")
    assert replaced.status_code == 303
    # The new upload is kept and the old one, which nothing points at any more, deleted.
    files = _stored_files(app)
    assert _only_product(app).image.removeprefix("uploads/") in files
    assert product.image.removeprefix("uploads/") not in files


def test_an_inactive_product_leaves_the_catalog_and_cannot_be_added_to_a_cart(app, admin,
                                                                            client):
    with app.app_context():
        product_id = ProductFactory(sku="MUG", slug="mug", title="Mug", price=1200).id
    path = f"/staff/products/{product_id}"
    response = _post(admin, path, title="Mug", price="12", sku="MUG", slug="mug", is_active="")
    assert response.status_code == 303
    assert not _only_product(app).is_active
    assert client.get("/products/mug").status_code == 404
    assert "Mug" not in text_of(client.get("/"))
    added = client.post("/cart/add", data={"csrf_token": csrf_token(client),
                                           "product_id": str(product_id), "quantity": "1"})
    assert added.status_code == 404
    assert "Mug" in text_of(admin.get("/staff/products/"))


def test_an_unknown_product_is_404(app, admin):
    assert admin.get("/staff/products/999").status_code == 404
    assert admin.get("/staff/products/999/stock").status_code == 404
