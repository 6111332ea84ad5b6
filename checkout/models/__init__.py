"""Every model, imported so the metadata knows them all (migrations, create_all)."""

from checkout.models.cart import Cart, CartLine
from checkout.models.catalog import Product
from checkout.models.inventory import Stock, StockHold, StockMovement
from checkout.models.order import Order, OrderEvent, OrderFlag, OrderLine
from checkout.models.outbox import OutboxMessage
from checkout.models.payment import CheckoutAttempt, Payment, Refund, WebhookEvent
from checkout.models.user import User

__all__ = [
    "Cart", "CartLine", "CheckoutAttempt", "Order", "OrderEvent", "OrderFlag", "OrderLine",
    "OutboxMessage", "Payment", "Product", "Refund", "Stock", "StockHold", "StockMovement", "User",
    "WebhookEvent",
]
