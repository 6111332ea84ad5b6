"""Reading the catalog: what is for sale, a page at a time."""

from dataclasses import dataclass
from math import ceil
from typing import NamedTuple

from sqlalchemy import bindparam, func, select

from checkout.domain.availability import shown_units
from checkout.extensions import db
from checkout.models import Product, Stock


class ProductCard(NamedTuple):
    """A product as the catalog's grid shows it: plain values, so a page of them is a key."""

    id: int
    slug: str
    title: str
    image: str | None
    price: int
    # Units a shopper may still buy (on hand less what unpaid checkouts hold), as the badge
    # tells them apart: 40 and 41 both read "In stock", and a sale of one of 41 leaves the
    # page's kept part as it was.
    available: int


class ProductDetail(NamedTuple):
    """A product as its own page shows it: plain values, a key for the page's kept part."""

    id: int
    slug: str
    sku: str
    title: str
    description: str
    image: str | None
    price: int
    available: int


@dataclass(frozen=True)
class ProductPage:
    """One page of the catalog and what its links need (Flask-SQLAlchemy's names). Hashable:
    the page's HTML is kept by it (checkout/web/fragments.py)."""

    items: tuple[ProductCard, ...]
    page: int
    per_page: int
    # Products for sale in all; 0 when the page is past the end (it has no row to say).
    total: int

    @property
    def pages(self) -> int:
        return ceil(self.total / self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None


# The read pages' statements are built once. SQLAlchemy caches a statement's compiled form
# under a key it works out for each statement object; building one and working out its key
# again for every request cost more than running it (README "Performance notes").
# COUNT(*) OVER () rides along with the page's rows: one statement where a paginate() sends
# a COUNT and then the SELECT, on the shop's busiest page. Columns, not Product objects: the
# grid shows six values, and building mapped objects cost more than the query.
_AVAILABLE = func.coalesce(Stock.on_hand - Stock.held, 0)
_PRODUCTS_PAGE = (
    select(Product.id, Product.slug, Product.title, Product.image, Product.price, _AVAILABLE,
           func.count().over())
    .outerjoin(Stock, Stock.product_id == Product.id)
    .where(Product.for_sale)
    .order_by(Product.id)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_PRODUCT_BY_SLUG = (
    select(Product.id, Product.slug, Product.sku, Product.title, Product.description,
           Product.image, Product.price, _AVAILABLE)
    .outerjoin(Stock, Stock.product_id == Product.id)
    .where(Product.slug == bindparam("slug"), Product.for_sale)
)


def products_page(page: int, per_page: int) -> ProductPage:
    """One page of the products for sale, in catalog order, counted in the same statement."""
    # Rows of columns need none of the ORM's handling: run on the session's connection.
    rows = db.session.connection().execute(
        _PRODUCTS_PAGE, {"limit": per_page, "offset": (page - 1) * per_page}).all()
    return ProductPage(items=tuple(ProductCard(*row[:5], shown_units(row[5])) for row in rows),
                       page=page, per_page=per_page, total=rows[0][6] if rows else 0)


def product_by_slug(slug: str) -> ProductDetail | None:
    """The product for sale at this address, if any."""
    row = db.session.connection().execute(_PRODUCT_BY_SLUG, {"slug": slug}).first()
    return ProductDetail._make(row) if row is not None else None


def product_for_sale(product_id: int) -> Product | None:
    """The product with this id, if it is for sale."""
    product = db.session.get(Product, product_id)
    return product if product is not None and product.for_sale else None
