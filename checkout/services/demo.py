"""The demo catalog `make run` loads: a dozen products, a few low, one one-of-a-kind."""

from flask import current_app
from sqlalchemy import select

from checkout.demo_catalog import PRODUCTS
from checkout.domain.money import exponent
from checkout.extensions import db
from checkout.models import DiscountCode, Product, ShippingOption, Stock, StockMovement, TaxRule
from checkout.models.inventory import MovementReason


def demo_amount(usd_cents: int, currency: str) -> int:
    """A demo price written in US cents, in the minor units of the store's currency.

    The demo reads the same figure in any currency with cents or mils ($5.95, €5.95, KWD
    5.950); a currency with no minor unit takes a hundred units per dollar, rounded up to a
    whole hundred (¥600), about what a Japanese shop would ask. No exchange rate is implied.
    """
    digits = exponent(currency)
    if digits == 0:
        return -(-usd_cents // 100) * 100
    return usd_cents * 10 ** (digits - 2)


def load_demo_catalog() -> int:
    """Add the demo products that are not there yet; return how many were added."""
    currency = current_app.config["STORE_CURRENCY"]
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
            price=demo_amount(item["price"], currency),
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


# The demo's countries: every one the checkout form ships to.
DEMO_COUNTRIES = (
    "US,CA,GB,IE,FR,DE,NL,BE,LU,AT,CH,IT,ES,PT,DK,SE,NO,FI,PL,CZ,AU,NZ,JP,SG"
)


def load_demo_pricing(prices_include_tax: bool) -> list[str]:
    """Add WELCOME10, the Standard and Express methods and a tax rate if missing; say what."""
    added = []
    currency = current_app.config["STORE_CURRENCY"]
    if db.session.scalar(select(DiscountCode.id).where(DiscountCode.code == "WELCOME10")) is None:
        db.session.add(DiscountCode(code="WELCOME10", percent_off="10"))
        added.append("discount code WELCOME10 (10% off, no minimum, unlimited)")
    methods = [
        ShippingOption(code="standard", name="Standard", amount=demo_amount(595, currency),
                       free_above=demo_amount(7500, currency), countries=DEMO_COUNTRIES,
                       position=1),
        ShippingOption(code="express", name="Express", amount=demo_amount(1495, currency),
                       countries="US,CA,GB", position=2),
    ]
    existing = set(db.session.scalars(select(ShippingOption.code)))
    for method in methods:
        if method.code not in existing:
            db.session.add(method)
            added.append(f"shipping method {method.name}")
    # Prices that include tax are a VAT country's habit; added tax a US state's.
    country, name, percentage = ("GB", "VAT", "20") if prices_include_tax else (
        "US", "Sales tax", "8.875")
    rule = db.session.scalar(
        select(TaxRule).where(TaxRule.country == country, TaxRule.name == name)
    )
    if rule is None:
        db.session.add(TaxRule(country=country, name=name, percentage=percentage))
        added.append(f"tax rate {name} {percentage}% for {country}")
    db.session.commit()
    return added
