"""The catalog: a paginated product list and product pages."""

from flask import Blueprint, abort, render_template, request, session

from checkout.forms.cart import AddToCartForm
from checkout.services import catalog
from checkout.web.cart import KEPT_QUANTITY

bp = Blueprint("catalog", __name__)
PER_PAGE = 9


@bp.get("/")
def index():
    """List the products for sale, a page at a time."""
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdecimal() and len(raw) <= 5 else 0
    if page < 1 or page > 10_000:
        abort(404, "There is no such page of products.")
    products = catalog.products_page(page, PER_PAGE)
    if page > 1 and not products.items:
        abort(404, "There is no such page of products.")
    return render_template("catalog/index.html", products=products)


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
    return render_template("catalog/product.html", product=item, form=form)
