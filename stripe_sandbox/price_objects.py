"""Coupons, tax rates and shipping rates in the store, and a Checkout Session's pricing.

The validation and the arithmetic are the pure modules' (`pricing`, `pricing_session`,
`totals`); this module stores what they build, looks objects up for them, and turns their
`PricingError` into the API's `StripeError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from stripe_sandbox import clock, records
from stripe_sandbox.context import Context
from stripe_sandbox.errors import StripeError
from stripe_sandbox.params import expand_list, reject_unknown
from stripe_sandbox.pricing import (
    build_discount,
    coupon_response,
    create_coupon,
    create_shipping_rate,
    create_tax_rate,
)
from stripe_sandbox.pricing_params import PricingError
from stripe_sandbox.pricing_session import (
    read_session_pricing,
    session_discounts,
    session_shipping_options,
)
from stripe_sandbox.store import dumps, objects
from stripe_sandbox.totals import LineInput, compute_totals, line_item_amounts, session_amounts

Document = dict[str, Any]
COUPON, TAX_RATE, SHIPPING_RATE = "coupon", "tax_rate", "shipping_rate"


@contextmanager
def stripe_errors() -> Iterator[None]:
    """Re-raise the pure modules' PricingError as the API's StripeError."""
    try:
        yield
    except PricingError as error:
        raise StripeError(error.status, error.type, error.message, code=error.code,
                          param=error.param) from None


def _insert(conn: Connection, body: Document, now: int) -> None:
    conn.execute(insert(objects).values(id=body["id"], kind=body["object"], created=now,
                                        status=None, body=dumps(body), extra="{}"))


def _create(ctx: Context, build: Callable[..., Document], params: Document) -> Document:
    with ctx.store.write() as conn, stripe_errors():
        now = clock.now(ctx, conn)
        body = build(params, now=now)
        taken = conn.execute(select(objects.c.kind).where(objects.c.id == body["id"])).first()
        if taken is not None:
            raise StripeError.invalid(f"{body['object'].replace('_', ' ').capitalize()} "
                                      "already exists.", param="id",
                                      code="resource_already_exists")
        _insert(conn, body, now)
    return body


def create_coupon_object(ctx: Context, params: Document) -> Document:
    """Create a coupon (`POST /v1/coupons`) and return it as the API shows it."""
    with stripe_errors():
        expand = _coupon_expand(params)
    coupon = _create(ctx, create_coupon, params)
    with ctx.store.read() as conn:
        return coupon_response(coupon, now=clock.now(ctx, conn), expand=expand)


def retrieve_coupon(ctx: Context, coupon_id: str, params: Document) -> Document:
    """Return a coupon, with `applies_to`/`currency_options` when expanded."""
    reject_unknown(params, {"expand"})
    with stripe_errors():
        expand = _coupon_expand(params)
    with ctx.store.read() as conn:
        coupon, _ = records.load(conn, COUPON, coupon_id, "coupon")
        return coupon_response(coupon, now=clock.now(ctx, conn), expand=expand)


def _coupon_expand(params: Document) -> list[str]:
    paths = expand_list(params)
    for path in paths:
        if path not in ("applies_to", "currency_options"):
            raise StripeError.invalid(f"This property cannot be expanded ({path}).",
                                      param="expand", code=None)
    return paths


def create_tax_rate_object(ctx: Context, params: Document) -> Document:
    """Create a tax rate (`POST /v1/tax_rates`)."""
    _no_expand(params)
    return _create(ctx, create_tax_rate, params)


def create_shipping_rate_object(ctx: Context, params: Document) -> Document:
    """Create a shipping rate (`POST /v1/shipping_rates`)."""
    _no_expand(params)
    return _create(ctx, create_shipping_rate, params)


def retrieve(ctx: Context, kind: str, object_id: str, params: Document) -> Document:
    """Return a tax rate or shipping rate (neither has anything to expand)."""
    reject_unknown(params, {"expand"})
    _no_expand(params)
    with ctx.store.read() as conn:
        body, _ = records.load(conn, kind, object_id, kind)
    return body


def _no_expand(params: Document) -> None:
    paths = expand_list(params)
    if paths:
        raise StripeError.invalid(f"This property cannot be expanded ({paths[0]}).",
                                  param="expand", code=None)


def _lookup(conn: Connection, kind: str) -> Callable[[str], Document | None]:
    def find(object_id: str) -> Document | None:
        row = conn.execute(select(objects.c.body).where(
            objects.c.id == object_id, objects.c.kind == kind)).first()
        return json.loads(row.body) if row else None
    return find


@dataclass(frozen=True)
class PricedSession:
    """What a session's pricing params make of its line items."""

    # Session fields: amount_subtotal, amount_total, total_details, shipping_cost,
    # discounts, shipping_options.
    fields: Document
    # Per line item: its amount fields.
    line_amounts: list[Document]
    # Kept in the session's extra for expand: per line `discounts`/`taxes`, and the
    # session's `total_details.breakdown`.
    expandable: Document


def price_session(conn: Connection, params: Document, *, session_id: str, currency: str,
                  now: int, lines: list[tuple[int, int]]) -> PricedSession:
    """Resolve shipping_options, discounts and line tax_rates; compute Stripe's amounts.

    `lines` are (unit_amount, quantity) in request order. Shipping rates made from
    `shipping_rate_data` are stored, as Stripe stores them.
    """
    with stripe_errors():
        pricing = read_session_pricing(
            params, currency=currency, now=now, coupons=_lookup(conn, COUPON),
            tax_rates=_lookup(conn, TAX_RATE), shipping_rates=_lookup(conn, SHIPPING_RATE))
    for rate in pricing.new_shipping_rates:
        _insert(conn, rate, now)
    rates = pricing.line_tax_rates or tuple(() for _ in lines)
    totals = compute_totals(
        [LineInput(unit, quantity, line_rates)
         for (unit, quantity), line_rates in zip(lines, rates, strict=True)],
        currency=currency, coupon=pricing.coupon,
        shipping_rate=pricing.shipping_rates[0] if pricing.shipping_rates else None)
    discount = None
    if pricing.coupon is not None:
        discount = build_discount(pricing.coupon, checkout_session=session_id, now=now)
    fields = session_amounts(totals)
    fields["discounts"] = session_discounts(pricing.coupon)
    fields["shipping_options"] = session_shipping_options(pricing.shipping_rates, currency)
    expanded = [line_item_amounts(totals, i, discount=discount, include_discounts=True,
                                  include_taxes=True) for i in range(len(lines))]
    return PricedSession(
        fields=fields,
        line_amounts=[line_item_amounts(totals, i) for i in range(len(lines))],
        expandable={
            "line_details": [{"discounts": e["discounts"], "taxes": e["taxes"]}
                             for e in expanded],
            "breakdown": session_amounts(totals, discount=discount, include_breakdown=True)
            ["total_details"]["breakdown"],
        })


LINE_EXPANDS = ("data.discounts", "data.taxes")


def expand_line_items(items: list[Document], extra: Mapping[str, Any],
                      paths: list[str]) -> list[Document]:
    """Add each item's `discounts`/`taxes` when `data.discounts`/`data.taxes` are expanded."""
    details = extra.get("line_details")
    wanted = [path.removeprefix("data.") for path in paths if path in LINE_EXPANDS]
    if not wanted:
        return items
    result = []
    for index, item in enumerate(items):
        item = dict(item)
        for name in wanted:
            item[name] = details[index][name] if details else []
        result.append(item)
    return result
