"""Reading the catalog: what is for sale, a page at a time."""

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Product


def products_page(page: int, per_page: int) -> Pagination:
    """One page of the products for sale, in catalog order."""
    return db.paginate(
        select(Product).where(Product.for_sale).order_by(Product.id),
        page=page,
        per_page=per_page,
        error_out=False,
    )


def product_by_slug(slug: str) -> Product | None:
    """The product for sale at this address, if any."""
    return db.session.scalar(select(Product).where(Product.slug == slug, Product.for_sale))


def product_for_sale(product_id: int) -> Product | None:
    """The product with this id, if it is for sale."""
    product = db.session.get(Product, product_id)
    return product if product is not None and product.for_sale else None
