"""The catalog: a paginated product list and product pages."""

from flask import Blueprint, abort, current_app, render_template, session

from checkout.forms.cart import AddToCartForm
from checkout.services import catalog
from checkout.web.cart import KEPT_QUANTITY
from checkout.web.fragments import render_kept
from checkout.web.routing import number_arg
from checkout.web.templating import image_version
from checkout.web.waiting_orders import held_for_you

bp = Blueprint("catalog", __name__)
PER_PAGE = 9


@bp.get("/")
def index():
    """List the products for sale, a page at a time."""
    page = number_arg("page", 1, most=10_000)
    if page is None:
        abort(404, "There is no such page of products.")
    products = catalog.products_page(page, PER_PAGE)
    if page > 1 and not products.items:
        abort(404, "There is no such page of products.")
    # The page's content is kept by everything it shows; the shopper's own part of it is a
    # sold-out product their unpaid order holds, which links to that order's payment page.
    yours = tuple((card.id, reminder.pay_url) for card in products.items
                  if card.available <= 0 and (reminder := held_for_you(card.id)))
    page_html = render_kept(
        "catalog/_page.html", products=products, yours=yours,
        images=tuple(image_version(card.image) for card in products.items),
        currency=current_app.config["STORE_CURRENCY"])
    return render_template("catalog/index.html", page_html=page_html)


@bp.get("/products/<slug>")
def product(slug: str):
    """Show one product with its availability and an add-to-cart form."""
    item = catalog.product_by_slug(slug)
    if item is None:
        abort(404, "We could not find that product.")
    form = AddToCartForm(product_id=str(item.id))
    kept = session.pop(KEPT_QUANTITY, None)
    if isinstance(kept, list) and len(kept) == 2 and kept[0] == item.id:
        form.quantity.raw_data = [str(kept[1])]  # a refused add: show what was typed
    yours = held_for_you(item.id) if item.available <= 0 else None
    about_html = render_kept("catalog/_about.html", product=item,
                             yours=yours.pay_url if yours else None,
                             currency=current_app.config["STORE_CURRENCY"])
    return render_template("catalog/product.html", product=item, form=form,
                           about_html=about_html)
