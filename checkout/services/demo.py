"""The demo catalog `make run` loads: a dozen products, a few low, one one-of-a-kind."""

from sqlalchemy import select

from checkout.demo_catalog import PRODUCTS
from checkout.extensions import db
from checkout.models import Product, Stock, StockMovement
from checkout.models.inventory import MovementReason


def load_demo_catalog() -> int:
    """Add the demo products that are not there yet; return how many were added."""
    existing = set(db.session.scalars(select(Product.sku)))
    added = 0
    for item in PRODUCTS:
        if item["sku"] in existing:
            continue
        product = Product(
            sku=item["sku"],
            slug=item["slug"],
            title=item["title"],
            description=item["description"],
            image=f"img/products/{item['slug']}.svg",
            price=item["price"],
        )
        product.stock = Stock(on_hand=item["on_hand"], held=0)
        db.session.add(product)
        db.session.flush()
        if item["on_hand"]:
            db.session.add(
                StockMovement(
                    product_id=product.id,
                    delta=item["on_hand"],
                    reason=MovementReason.RESTOCK,
                    note="demo catalog",
                )
            )
        added += 1
    db.session.commit()
    return added
