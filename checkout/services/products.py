"""The catalog as admins run it: products, their images and active flag, stock by hand.

Every change of on_hand made here is one conditional UPDATE and one ledger row naming the
staff member (inventory.adjust_on_hand), so a sale landing at the same moment is never lost and
the ledger always adds up to what is on the shelf.
"""

import re
import unicodedata
from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from checkout.domain.errors import ProductRefused, StockAdjustmentRefused
from checkout.extensions import db
from checkout.models import Product, Stock, StockMovement, User
from checkout.services import images, inventory

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,63}\Z")
# Slugs are the catalog's addresses: /products/<slug>.
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
MAX_SLUG = 120
# A count typed as "set to N" is retried this often when sales keep changing it meanwhile.
COUNT_ATTEMPTS = 10


@dataclass(frozen=True)
class ProductDetails:
    """What the product form gives: the price already in minor units, the SKU upper-case."""

    title: str
    description: str
    price: int
    sku: str
    slug: str
    is_active: bool = True


def slugify(title: str) -> str:
    """The address a title gives when no slug is typed: "Brass Pen (large)" → "brass-pen-large"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:MAX_SLUG].strip("-")


def products_page(page: int, per_page: int) -> Pagination:
    """One page of every product, active or not, with its stock."""
    return db.paginate(
        select(Product).options(joinedload(Product.stock)).order_by(Product.title, Product.id),
        page=page, per_page=per_page, error_out=False,
    )


def _check_unique(details: ProductDetails, product_id: int | None) -> None:
    for column, value, label in ((Product.sku, details.sku, "SKU"),
                                 (Product.slug, details.slug, "address (slug)")):
        taken = db.session.scalar(select(Product.id).where(column == value))
        if taken is not None and taken != product_id:
            raise ProductRefused(f"Another product already has the {label} {value}.")


def _save(product: Product, details: ProductDetails, image: bytes | None) -> None:
    """Write the details (and a new image) and commit; ProductRefused leaves nothing behind."""
    if not SKU_PATTERN.match(details.sku) or not SLUG_PATTERN.match(details.slug):
        raise ProductRefused("The SKU or the address (slug) is not in the catalog's form.")
    _check_unique(details, product.id)
    stored = images.store_product_image(image) if image is not None else None
    replaced = product.image if stored is not None else None
    product.title, product.description = details.title, details.description
    product.price, product.sku, product.slug = details.price, details.sku, details.slug
    product.is_active = details.is_active
    if stored is not None:
        product.image = stored
    db.session.add(product)
    try:
        db.session.commit()
    except IntegrityError:
        # A product with the same SKU or slug was saved between our check and our commit.
        db.session.rollback()
        if stored is not None:
            images.discard(stored)
        raise ProductRefused(
            f"Another product already has the SKU {details.sku} or the address {details.slug}."
        ) from None
    if replaced is not None:
        images.discard(replaced)


def create_product(details: ProductDetails, image: bytes | None, initial_stock: int,
                   user: User) -> Product:
    """Add a product with its stock row; opening stock goes in the ledger under `user`."""
    product = Product(stock=Stock(on_hand=0, held=0))
    try:
        _save(product, details, image)
    except Exception:
        db.session.rollback()
        raise
    if initial_stock:
        inventory.adjust_on_hand(product.id, initial_stock, note="opening stock",
                                 user_id=user.id)
        db.session.commit()
    return product


def update_product(product: Product, details: ProductDetails, image: bytes | None) -> Product:
    """Change a product's details (and image); orders already placed keep their snapshot."""
    try:
        _save(product, details, image)
    except Exception:
        db.session.rollback()
        raise
    return product


def product(product_id: int) -> Product | None:
    """Any product by id, whether or not it is for sale."""
    return db.session.get(Product, product_id)


def adjust_stock(product_id: int, *, reason: str, user: User, delta: int | None = None,
                 count: int | None = None) -> StockMovement:
    """Change on_hand by `delta`, or to `count`, with a reason; StockAdjustmentRefused if not.

    A count is a compare-and-set on the on_hand it was computed from: when a sale changes it
    first, the count is recomputed from the new figure rather than overwriting the sale.
    """
    if not reason.strip():
        raise StockAdjustmentRefused("Say why the stock changes (it goes in the ledger).")
    try:
        for _ in range(COUNT_ATTEMPTS):
            on_hand, held = db.session.execute(
                select(Stock.on_hand, Stock.held).where(Stock.product_id == product_id)
            ).one()
            change = delta if count is None else count - on_hand
            if change == 0:
                raise StockAdjustmentRefused("That leaves the stock as it is: nothing to record.")
            guard = () if count is None else (Stock.on_hand == on_hand,)
            movement = inventory.adjust_on_hand(product_id, change, *guard, note=reason,
                                                user_id=user.id)
            if movement is not None:
                db.session.commit()
                return movement
            if count is None or count < held or count > inventory.MAX_ON_HAND:
                break
        on_hand, held = db.session.execute(
            select(Stock.on_hand, Stock.held).where(Stock.product_id == product_id)
        ).one()
    except Exception:
        db.session.rollback()
        raise
    db.session.rollback()
    raise StockAdjustmentRefused(
        f"On hand cannot go below the {held} units held for checkouts, nor below 0, nor above "
        f"{inventory.MAX_ON_HAND:,} (now {on_hand} on hand)."
    )


def ledger_page(product_id: int, page: int, per_page: int) -> tuple[Pagination, dict[int, str]]:
    """One page of a product's stock ledger, newest first, and the e-mail of each staff actor."""
    movements = db.paginate(
        select(StockMovement).where(StockMovement.product_id == product_id)
        .order_by(StockMovement.id.desc()),
        page=page, per_page=per_page, error_out=False,
    )
    user_ids = {m.user_id for m in movements.items if m.user_id is not None}
    emails = dict(
        db.session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all()
    )
    return movements, emails
