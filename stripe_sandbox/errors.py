"""Stripe's error object, raised inside the sandbox and rendered as `{"error": {...}}`."""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """A failure the API reports to the caller with Stripe's status and error body."""

    def __init__(self, status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code

    @classmethod
    def invalid(cls, message: str, *, param: str | None = None,
                code: str | None = "parameter_invalid") -> StripeError:
        """Build a 400 invalid_request_error."""
        return cls(400, "invalid_request_error", message, code=code, param=param)

    @classmethod
    def missing_param(cls, param: str) -> StripeError:
        """Build a 400 parameter_missing error."""
        return cls(400, "invalid_request_error", f"Missing required param: {param}.",
                   code="parameter_missing", param=param)

    @classmethod
    def no_such(cls, object_name: str, object_id: str, param: str) -> StripeError:
        """Build a 404 resource_missing error."""
        return cls(404, "invalid_request_error", f"No such {object_name}: '{object_id}'",
                   code="resource_missing", param=param)

    def body(self) -> dict[str, Any]:
        """Return the JSON error body Stripe sends."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_BASE + self.code.replace("_", "-")
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        return {"error": error}
