"""Every model, imported so the metadata knows them all (migrations, create_all)."""

from checkout.models.address import Address
from checkout.models.cart import Cart, CartLine
from checkout.models.catalog import Product
from checkout.models.inventory import Stock, StockHold, StockMovement
from checkout.models.invoice import CreditNote, DocumentSequence, Invoice, InvoiceLine
from checkout.models.order import Order, OrderEvent, OrderFlag, OrderLine
from checkout.models.outbox import OutboxMessage
from checkout.models.payment import CheckoutAttempt, Payment, Refund, WebhookEvent
from checkout.models.pricing import DiscountCode, DiscountRedemption, ShippingOption, TaxRule
from checkout.models.reconciliation import ReconciliationRun
from checkout.models.refund import RefundLine, RefundRequest
from checkout.models.user import User

__all__ = [
    "Address",
    "Cart", "CartLine", "CheckoutAttempt", "CreditNote", "DiscountCode", "DiscountRedemption",
    "DocumentSequence", "Invoice", "InvoiceLine", "Order", "OrderEvent", "OrderFlag",
    "OrderLine", "OutboxMessage", "Payment", "Product", "ReconciliationRun", "Refund", "RefundLine",
    "RefundRequest", "ShippingOption", "Stock",
    "StockHold", "StockMovement", "TaxRule", "User", "WebhookEvent",
]
