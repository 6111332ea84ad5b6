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


class ShippingUnavailable(DomainError):
    """The shipping method chosen does not exist or does not serve the destination."""


class PaymentDeclined(DomainError):
    """The payment provider declined; the shopper can try again."""


class InvalidPassword(DomainError):
    """A password outside the lengths an account may have."""


class InvalidResetLink(DomainError):
    """A password reset link that is forged, expired, or already used."""


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


class TransferRefused(DomainError):
    """A bank transfer that cannot be recorded against the order; the message says why."""
