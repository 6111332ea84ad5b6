"""Products and stock (admin): the catalog's rows, their images, and stock changed by hand."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from checkout.domain.errors import ImageRefused, ProductRefused, StockAdjustmentRefused
from checkout.domain.money import major_units
from checkout.forms.products import NewProductForm, ProductForm, StockForm
from checkout.services import products
from checkout.web.media import takes_upload
from checkout.web.routing import number_arg
from checkout.web.staff.access import admin_only
from checkout.web.staff.pages import form_page

bp = Blueprint("products", __name__, url_prefix="/products")
PER_PAGE = 50
LEDGER_PER_PAGE = 25


def _page() -> int:
    page = number_arg("page", 1, most=99_999)
    if page is None:
        abort(404, "There is no such page.")
    return page


def _product_or_404(product_id: int):
    item = products.product(product_id)
    if item is None:
        abort(404, "There is no such product.")
    return item


def _details(form: ProductForm) -> products.ProductDetails:
    return products.ProductDetails(
        title=form.title.data, description=form.description.data or "",
        price=form.price_minor, sku=form.sku.data,
        slug=form.slug.data or products.slugify(form.title.data),
        is_active=form.is_active.data,
    )


def _image_bytes(form: ProductForm) -> bytes | None:
    upload = form.image.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    # One byte past the limit is enough to know the file is too large.
    return upload.read(current_app.config["PRODUCT_IMAGE_MAX_BYTES"] + 1)


def _save(form: ProductForm, save) -> bool:
    """Run a save with the form's details; put a refusal on the form and say whether it worked."""
    if not form.slug.data and not products.slugify(form.title.data):
        form.slug.errors.append("The title gives no address: type a slug.")
        return False
    try:
        save(_details(form), _image_bytes(form))
    except ImageRefused as exc:
        form.image.errors.append(str(exc))
    except ProductRefused as exc:
        form.sku.errors.append(str(exc))
    else:
        return True
    return False


@bp.get("/")
@admin_only
def index():
    """List every product with its stock: on hand, held, available, for sale or not."""
    return render_template("staff/products/index.html",
                           products=products.products_page(_page(), PER_PAGE))


@bp.route("/new", methods=["GET", "POST"])
@admin_only
@takes_upload
def new():
    """Add a product, with its image and opening stock."""
    form = NewProductForm()
    return form_page(
        form, lambda: _save(form, lambda details, image: products.create_product(
            details, image, form.initial_stock.data or 0, current_user)),
        done=lambda: f"{form.title.data} added.", then=url_for(".index"),
        template="staff/products/form.html", product=None,
    )


@bp.route("/<int:product_id>", methods=["GET", "POST"])
@admin_only
@takes_upload
def edit(product_id: int):
    """Change a product's details, image or active flag."""
    item = _product_or_404(product_id)
    form = ProductForm(obj=item) if request.method == "GET" else ProductForm()
    if request.method == "GET":
        form.price.data = major_units(item.price, current_app.config["STORE_CURRENCY"])
    return form_page(
        form, lambda: _save(form, lambda details, image: products.update_product(
            item, details, image)),
        done=lambda: f"{item.title} saved.", then=url_for(".index"),
        template="staff/products/form.html", product=item,
    )


@bp.route("/<int:product_id>/stock", methods=["GET", "POST"])
@admin_only
def stock(product_id: int):
    """Show a product's stock ledger, newest first, and change its stock with a reason."""
    item = _product_or_404(product_id)
    form = StockForm()
    if form.validate_on_submit():
        amount = form.quantity.data
        try:
            if form.mode.data == "count":
                products.adjust_stock(item.id, count=amount, reason=form.reason.data,
                                      user=current_user)
            else:
                products.adjust_stock(item.id, delta=amount, reason=form.reason.data,
                                      user=current_user)
        except StockAdjustmentRefused as exc:
            form.quantity.errors.append(str(exc))
        else:
            flash(f"Stock of {item.title} changed.", "success")
            return redirect(url_for(".stock", product_id=item.id), 303)
    movements, emails = products.ledger_page(item.id, _page(), LEDGER_PER_PAGE)
    status = 422 if request.method == "POST" else 200
    return render_template("staff/products/stock.html", product=item, form=form,
                           movements=movements, emails=emails), status
