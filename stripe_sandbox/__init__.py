"""A Stripe-compatible payment sandbox: Stripe's wire format, a hosted page, signed webhooks.

It imports nothing from any app that uses it. `create_app(config)` builds its Flask app, to
serve alone (`python -m stripe_sandbox serve`) or to mount under a prefix in another app.
"""

from stripe_sandbox.app import create_app, sandbox_of
from stripe_sandbox.delivery import DeliveryResult
from stripe_sandbox.payments import PaymentResult
from stripe_sandbox.sandbox import Sandbox
from stripe_sandbox.transport import InProcessHTTPClient

__all__ = ["DeliveryResult", "InProcessHTTPClient", "PaymentResult", "Sandbox", "create_app",
           "sandbox_of"]
