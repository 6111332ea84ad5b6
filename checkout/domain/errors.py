"""Failure nouns the services raise and the views translate for people."""

from dataclasses import dataclass


class DomainError(Exception):
    """A business rule said no; the message is safe to show."""


@dataclass(frozen=True)
class Shortage:
    sku: str
    title: str
    requested: int
    available: int

    @property
    def text(self) -> str:
        """The shortage in the words shoppers see, wherever it is shown."""
        left = f"only {self.available} left" if self.available else "sold out"
        return f"{self.title}: you asked for {self.requested}, {left}"


class OutOfStock(DomainError):
    """One or more lines cannot be held."""

    def __init__(self, shortages: list[Shortage]):
        self.shortages = shortages
        super().__init__("Not enough stock. " + "; ".join(s.text for s in shortages) + ".")


class InvalidTransition(DomainError):
    """Something with a status table was asked for a move its current status does not allow."""

    def __init__(self, subject: str, current: str, requested: str):
        self.subject, self.current, self.requested = subject, current, requested
        super().__init__(f"{subject} cannot go from {current} to {requested}")


class EmptyCart(DomainError):
    """Checkout was asked for a cart with nothing in it."""


class ProductUnavailable(DomainError):
    """The product does not exist or is not for sale."""


class QuantityInvalid(DomainError):
    """A quantity outside what the shop accepts."""


class OrderNotPayable(DomainError):
    """The order is past the point where it can be paid or resumed."""


class DiscountRefused(DomainError):
    """A discount code that cannot be used for this cart or order; the message says why."""


class UnchargeableTotal(DomainError):
    """A total the payment provider will not charge; the message says what to change."""


class BelowMinimumCharge(UnchargeableTotal):
    """A total above zero but below the least the payment provider will charge."""


class AboveMaximumCharge(UnchargeableTotal):
    """A total past the most the payment provider charges at once."""


class ShippingUnavailable(DomainError):
    """The shipping method chosen does not exist or does not serve the destination."""


class PaymentDeclined(DomainError):
    """The payment provider declined; the shopper can try again."""


class InvalidPassword(DomainError):
    """A password outside the lengths an account may have."""


class InvalidResetLink(DomainError):
    """A password reset link that is forged, expired, or already used."""


class WrongPassword(DomainError):
    """The current password given to change it is not the account's."""


class InvalidVerificationLink(DomainError):
    """An e-mail verification link that is forged, expired, used, or for another account."""


class RefundNotAllowed(DomainError):
    """A refund the payment cannot take: more than is left, or a payment not captured."""


class GatewayUnavailable(DomainError):
    """The payment provider could not be reached or failed; details are logged."""


class RestoreLinkInvalid(DomainError):
    """A cart-restore link that was not signed by us or names another order."""


class RestoreLinkExpired(DomainError):
    """A cart-restore link older than RECOVERY_LINK_DAYS."""


class OrderNotRestorable(DomainError):
    """An order whose items cannot go back in a cart: it did not end expired and unpaid."""


class RefundRequestRefused(DomainError):
    """A shopper's refund request the order cannot take: not paid, one already open, bad lines."""


class RequestAlreadyDecided(DomainError):
    """A refund request staff already approved or rejected: it is not decided twice."""


class ActionNotAllowed(DomainError):
    """A staff action the order's status (or the flag's state) does not allow right now."""


class ProductRefused(DomainError):
    """A product's details break a catalog rule (a taken SKU or slug, say)."""


class ImageRefused(DomainError):
    """An uploaded file is not an image the shop will show."""


class StockAdjustmentRefused(DomainError):
    """A stock change would take on_hand below what checkouts hold, or below zero."""


class AccountChangeRefused(DomainError):
    """A change to a staff account would lock the shop out (the last admin, one's own role)."""
class TransferRefused(DomainError):
    """A bank transfer that cannot be recorded against the order; the message says why."""
