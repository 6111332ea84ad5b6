"""The scenarios of issue 11, each measured beside the baseline it is held against.

A scenario's `run` does one measured pass and returns a `Load` and its extras; the runner
repeats it (median of N), records the load average around it and the workers' peak RSS.
Order matters: the staff list is measured at 100 orders before anything else places one, the
webhook deliveries pay the orders the refunds then refund, and the outbox copies the
confirmation a webhook wrote.
"""

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import stripe
from aiosmtpd.controller import Controller
from flask import Flask

from bench import shopdata
from bench.baseline import bench_item, make_engine
from bench.load import (
    Answer,
    Client,
    Load,
    WorkDone,
    closed_loop,
    closed_loop_async,
    fixed_rate_async,
    wrk,
)
from bench.servers import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    Stack,
    free_port,
)
from checkout.web.shopper import CART_COOKIE

ADDRESS = {
    "email": "shopper@example.com", "name": "Ada Shopper", "line1": "1 Main St",
    "city": "Springfield", "postal_code": "12345", "country": "US",
    "shipping_method": "standard",
}
CARD = {"number": "4242 4242 4242 4242", "exp": "12 / 40", "cvc": "123", "method": "card",
        "email": ADDRESS["email"], "name": ADDRESS["name"]}
HIDDEN = re.compile(r'name="(csrf_token|checkout_token|refund_token)" type="hidden" '
                    r'value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass(frozen=True)
class Sizes:
    """How much each scenario does: the full run's sizes, or BENCH_QUICK's small ones."""

    seconds: float
    concurrency: int
    staff_orders_small: int
    staff_orders_large: int
    webhook_events: int
    refunds: int
    flash_units: int
    flash_shoppers: int
    outbox_messages: int
    provider_delay_ms: int = 300
    # Product pages a second beside the checkout flows of the provider-latency scenarios: a
    # fixed rate, so both runs ask the same of the server (see _with_provider_delay).
    side_page_rate: int = 100

    @classmethod
    def full(cls) -> "Sizes":
        return cls(seconds=10, concurrency=16, staff_orders_small=100,
                   staff_orders_large=100_000, webhook_events=200, refunds=60,
                   flash_units=200, flash_shoppers=32, outbox_messages=1000)

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(seconds=2, concurrency=4, staff_orders_small=100, staff_orders_large=2000,
                   webhook_events=8, refunds=4, flash_units=20, flash_shoppers=8,
                   outbox_messages=40, side_page_rate=20)


@dataclass
class SmtpSink:
    """A local SMTP server (aiosmtpd) that counts what it is sent and keeps nothing."""

    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        with self.lock:
            self.received += 1
        return "250 OK"


@dataclass
class Context:
    """What a database kind's scenarios share: servers, the set-up app, sizes, findings."""

    stack: Stack
    app: Flask
    sizes: Sizes
    sink: SmtpSink
    runs: int
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class Measured:
    load: Load
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    unit: str
    run: Callable[[Context], Measured]
    # The scenario whose throughput this one is divided by (same run, same database kind).
    baseline: str | None = None
    # Baselines are the bare-stack ceiling, not the shop.
    is_baseline: bool = False
    # Work set up once for every run (events to deliver, orders to refund, carts to check out).
    setup: Callable[[Context], None] | None = None
    # A run may be done again (GETs under wrk), where a flow would use up work set up for
    # the runs after it (events, orders, carts).
    repeatable: bool = False


def _probe_sql(url: str, headers: dict[str, str] | None = None) -> tuple[int | None, int | None]:
    answer = requests.get(url, headers=headers or {}, timeout=30, allow_redirects=False)
    if answer.status_code >= 400:
        raise RuntimeError(f"GET {url} answered {answer.status_code}")
    statements = answer.headers.get("X-SQL-Statements")
    commits = answer.headers.get("X-SQL-Commits")
    return (int(statements) if statements else None, int(commits) if commits else None)


def _wrk_scenario(ctx: Context, url: str, headers: dict[str, str] | None = None) -> Measured:
    statements, commits = _probe_sql(url, headers)
    load = wrk(url, ctx.sizes.seconds, connections=16, headers=headers)
    if statements is not None:
        load.statements, load.commits = [statements], [commits]
    return Measured(load)


# ---- the baseline ------------------------------------------------------------------------

def base_hello(ctx: Context) -> Measured:
    return _wrk_scenario(ctx, ctx.stack.baseline.base + "/hello")


def base_page(ctx: Context) -> Measured:
    measured = _wrk_scenario(ctx, ctx.stack.baseline.base + "/page")
    measured.extra["page_bytes"] = len(requests.get(ctx.stack.baseline.base + "/page",
                                                    timeout=10).content)
    return measured


async def _insert(client: Client) -> Answer:
    return await client.post("/insert")


def base_insert(ctx: Context) -> Measured:
    return Measured(closed_loop(ctx.stack.baseline.base, _insert,
                                concurrency=ctx.sizes.concurrency, seconds=ctx.sizes.seconds))


def base_decrement(ctx: Context) -> Measured:
    from_id = ctx.state.setdefault("next_item", 1)
    ctx.state["next_item"] = from_id + 1
    engine = _baseline_engine(ctx)
    with engine.begin() as conn:
        conn.execute(bench_item.insert().values(id=from_id, stock=ctx.sizes.flash_units))
    return Measured(*_rush(ctx, ctx.stack.baseline.base, lambda c: c.post(
        f"/decrement/{from_id}", data={"email": "bench@example.com"}),
        attempts=2 * ctx.sizes.flash_units, prepare=None))


def _baseline_engine(ctx: Context):
    engine = ctx.state.get("baseline_engine")
    if engine is None:
        engine = ctx.state["baseline_engine"] = make_engine(ctx.stack.dbs.baseline)
    return engine


def _rush(ctx: Context, base: str, attempt, *, attempts: int, prepare) -> tuple[Load, dict]:
    """`flash_shoppers` at once try `attempts` times in all to take one unit; stop at sold out.
    The rate is units taken per second until the last was taken."""
    left = [attempts]
    sold_out = threading.Event()

    async def flow(client: Client) -> Answer:
        if sold_out.is_set() or left[0] <= 0:
            raise WorkDone
        left[0] -= 1
        answer = await attempt(client)
        if answer.status == 409:
            sold_out.set()
        return answer

    load = closed_loop(base, flow, concurrency=ctx.sizes.flash_shoppers,
                       seconds=max(ctx.sizes.seconds, 30), prepare=prepare)
    load.done = load.statuses.get(303, 0) + load.statuses.get(201, 0)
    return load, {"refused": load.statuses.get(409, 0)}


# ---- shopper pages -----------------------------------------------------------------------

def catalog(ctx: Context) -> Measured:
    return _wrk_scenario(ctx, ctx.stack.shop.base + "/")


def product(ctx: Context) -> Measured:
    _, slug = ctx.state["products"][0]
    return _wrk_scenario(ctx, f"{ctx.stack.shop.base}/products/{slug}")


def cart(ctx: Context) -> Measured:
    token = ctx.state.get("cart_token")
    if token is None:
        token = ctx.state["cart_token"] = shopdata.carts(
            ctx.app, 1, [product_id for product_id, _ in ctx.state["products"]])[0]
    return _wrk_scenario(ctx, ctx.stack.shop.base + "/cart/",
                         headers={"Cookie": f"{CART_COOKIE}={token}"})


def order_page(ctx: Context) -> Measured:
    path = ctx.state.get("order_path")
    if path is None:
        token = shopdata.carts(ctx.app, 1, [p for p, _ in ctx.state["products"]])[0]
        number = _place_order_now(ctx, token)
        path = ctx.state["order_path"] = shopdata.order_page_path(ctx.app, number)
    return _wrk_scenario(ctx, ctx.stack.shop.base + path)


def _place_order_now(ctx: Context, cart_token: str) -> str:
    with requests.Session() as browser:
        browser.cookies.set(CART_COOKIE, cart_token, domain="127.0.0.1")
        page = browser.get(ctx.stack.shop.base + "/checkout/", timeout=60)
        placed = browser.post(ctx.stack.shop.base + "/checkout/", allow_redirects=False,
                              data={**dict(HIDDEN.findall(page.text)), **ADDRESS}, timeout=60)
    if placed.status_code != 303:
        raise RuntimeError(f"the order was not placed: {placed.status_code}")
    return shopdata.latest_order_number(ctx.app)


# ---- flows with cookies and CSRF ---------------------------------------------------------

async def _fetch_csrf(client: Client) -> None:
    page = await client.get("/account/login")
    client.csrf = CSRF.search(page.text).group(1)


def add_to_cart(ctx: Context) -> Measured:
    products = ctx.state["products"]

    async def flow(client: Client) -> Answer:
        if client.count % len(products) == 0:
            client.drop_cookie(CART_COOKIE)  # a new shopper's cart every few lines
        product_id, _ = products[client.count % len(products)]
        client.count += 1
        return await client.post("/cart/add", data={
            "csrf_token": client.csrf, "product_id": str(product_id), "quantity": "1"})

    return Measured(closed_loop(ctx.stack.shop.base, flow, concurrency=ctx.sizes.concurrency,
                                seconds=ctx.sizes.seconds, prepare=_fetch_csrf))


async def _checkout_flow(client: Client, product_id: int, slug: str) -> Answer:
    """Product page, add to cart, checkout page, place the order (→ 303 to the payment page)."""
    page = await client.get(f"/products/{slug}")
    added = await client.post("/cart/add", data={
        "csrf_token": CSRF.search(page.text).group(1), "product_id": str(product_id),
        "quantity": "1"})
    if added.status != 303:
        return added
    form = await client.get("/checkout/")
    if form.status != 200:
        return form
    placed = await client.post("/checkout/", data={**dict(HIDDEN.findall(form.text)), **ADDRESS})
    client.drop_cookie(CART_COOKIE)
    return placed


def checkout_flow(ctx: Context) -> Measured:
    product_id, slug = ctx.state["products"][0]
    return Measured(closed_loop(
        ctx.stack.shop.base, lambda client: _checkout_flow(client, product_id, slug),
        concurrency=ctx.sizes.concurrency, seconds=ctx.sizes.seconds, time_flows=True))


def _cart_queue(ctx: Context, name: str, count: int, product_ids: list[int]) -> None:
    ctx.state[name] = collections.deque(shopdata.carts(ctx.app, count, product_ids))


def setup_checkout_post(ctx: Context) -> None:
    # Generous: more carts than the shop could check out in the time, every run.
    count = int(ctx.runs * ctx.sizes.seconds * ctx.sizes.concurrency * 20)
    _cart_queue(ctx, "post_carts", count, [p for p, _ in ctx.state["products"]])


async def _place(client: Client, tokens: collections.deque) -> Answer:
    try:
        token = tokens.popleft()
    except IndexError:
        raise WorkDone from None
    client.set_cookie(CART_COOKIE, token)
    return await client.post("/checkout/", data={
        "csrf_token": client.csrf, "checkout_token": secrets.token_urlsafe(24), **ADDRESS})


def checkout_post(ctx: Context) -> Measured:
    """The checkout POST alone, each on a ready 3-line cart."""
    tokens = ctx.state["post_carts"]
    return Measured(closed_loop(ctx.stack.shop.base, lambda client: _place(client, tokens),
                                concurrency=ctx.sizes.concurrency, seconds=ctx.sizes.seconds,
                                prepare=_fetch_csrf))


def setup_webhooks(ctx: Context) -> None:
    """Place and pay (on the sandbox's page) the orders whose events the runs deliver."""
    count = ctx.runs * ctx.sizes.webhook_events
    tokens = collections.deque(shopdata.carts(ctx.app, count,
                                              [p for p, _ in ctx.state["products"]]))

    async def place_and_pay(client: Client) -> Answer:
        placed = await _place(client, tokens)
        if placed.status != 303:
            raise RuntimeError(f"setup: checkout answered {placed.status}")
        paid = await client.post(placed.headers["Location"], data=CARD)
        if paid.status != 303:
            raise RuntimeError(f"setup: the sandbox's payment page answered {paid.status}")
        return paid

    closed_loop(ctx.stack.shop.base, place_and_pay, concurrency=8, seconds=600,
                prepare=_fetch_csrf)
    events, after = [], None
    while True:
        listed = requests.get(ctx.stack.sandbox.base + "/v1/events", timeout=30, params={
            "type": "checkout.session.completed", "limit": 100,
            **({"starting_after": after} if after else {})},
            headers={"Authorization": f"Bearer {STRIPE_KEY}"}).json()
        events += listed["data"]
        if not listed.get("has_more"):
            break
        after = listed["data"][-1]["id"]
    if len(events) < count:
        raise RuntimeError(f"setup: {len(events)} paid sessions, {count} wanted")
    ctx.state["events"] = collections.deque(events[:count])
    ctx.state["paid"] = collections.deque()


def _signed(event: dict) -> tuple[bytes, str]:
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    signature = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + payload,
                         hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def webhooks(ctx: Context) -> Measured:
    """Signed checkout.session.completed deliveries; every fifth repeats an earlier event."""
    fresh = [ctx.state["events"].popleft() for _ in range(ctx.sizes.webhook_events)]
    deliveries = collections.deque()
    for n, event in enumerate(fresh):
        deliveries.append(event)
        if n % 4 == 3:
            deliveries.append(random.choice(fresh[:n + 1]))
    outcomes = collections.Counter()

    async def deliver(client: Client) -> Answer:
        try:
            event = deliveries.popleft()
        except IndexError:
            raise WorkDone from None
        payload, signature = _signed(event)
        answer = await client.post("/webhooks/stripe", data=payload, headers={
            "Stripe-Signature": signature, "Content-Type": "application/json"})
        if answer.status == 200:
            outcomes[json.loads(answer.text).get("outcome")] += 1
        return answer

    load = closed_loop(ctx.stack.shop.base, deliver, concurrency=ctx.sizes.concurrency,
                       seconds=max(ctx.sizes.seconds, 60))
    ctx.state["paid"].extend(event["data"]["object"]["client_reference_id"] for event in fresh)
    return Measured(load, {"outcomes": dict(outcomes), "events": len(fresh)})


def invoice_pdf(ctx: Context) -> Measured:
    """Shoppers download the invoice PDFs of the orders the webhooks paid (each its link)."""
    paths = ctx.state.get("invoice_paths")
    if paths is None:
        if not ctx.state.get("paid"):
            raise RuntimeError("invoice_pdf downloads the invoices of the orders that `webhooks`"
                               " paid: select webhooks too")
        paths = ctx.state["invoice_paths"] = [
            shopdata.order_page_path(ctx.app, number).replace("?", "/invoice.pdf?", 1)
            for number in list(ctx.state["paid"])[:ctx.sizes.webhook_events]]
    count = [0]

    async def download(client: Client) -> Answer:
        count[0] += 1
        answer = await client.get(paths[count[0] % len(paths)])
        if answer.status == 200 and not answer.text.startswith("%PDF"):
            raise RuntimeError("the invoice download is not a PDF")
        return answer

    return Measured(closed_loop(ctx.stack.shop.base, download, concurrency=ctx.sizes.concurrency,
                                seconds=ctx.sizes.seconds))


async def _staff_sign_in(client: Client) -> None:
    await _fetch_csrf(client)
    signed = await client.post("/account/login", data={
        "csrf_token": client.csrf, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    if signed.status != 303:
        raise RuntimeError(f"the staff sign-in answered {signed.status}")


REFUND_AMOUNT = re.compile(r'name="amount" type="text" value="([^"]+)"')
FIRST_REASON = re.compile(r'<option value="([a-z_]+)">')


def refund(ctx: Context) -> Measured:
    """Staff refund paid orders in full: the refund page, then the POST that refunds."""
    paid: collections.deque = ctx.state["paid"]
    numbers = collections.deque(paid.popleft() for _ in range(min(len(paid),
                                                                  ctx.sizes.refunds)))

    async def flow(client: Client) -> Answer:
        try:
            number = numbers.popleft()
        except IndexError:
            raise WorkDone from None
        page = await client.get(f"/staff/orders/{number}/refund")
        if page.status != 200:
            return page
        return await client.post(f"/staff/orders/{number}/refund", data={
            **dict(HIDDEN.findall(page.text)), "mode": "amount",
            "amount": REFUND_AMOUNT.search(page.text).group(1),
            "reason": FIRST_REASON.search(page.text).group(1), "note": "bench"})

    return Measured(closed_loop(ctx.stack.shop.base, flow, concurrency=4,
                                seconds=max(ctx.sizes.seconds, 60), prepare=_staff_sign_in))


def flash_sale(ctx: Context) -> Measured:
    """`flash_units` units of a new product, twice as many one-unit carts, `flash_shoppers`
    placing them at once until it is sold out; then nobody may have got more than there was."""
    ctx.state["flash"] = ctx.state.get("flash", 0) + 1
    tag = f"{ctx.stack.dbs.kind}-{ctx.state['flash']}-{secrets.token_hex(3)}"
    units = ctx.sizes.flash_units
    product_id = shopdata.new_product(ctx.app, units, tag)
    tokens = collections.deque(shopdata.carts(ctx.app, 2 * units, [product_id]))
    load, extra = _rush(ctx, ctx.stack.shop.base, lambda client: _place(client, tokens),
                        attempts=2 * units, prepare=_fetch_csrf)
    after = shopdata.stock_check(ctx.app, product_id)
    extra.update(after, units=units, oversell=max(0, after["orders"] - units,
                                                  after["held"] - after["on_hand"]))
    return Measured(load, extra)


CART_SIZES = (1, 10, 50)


def setup_sql_by_lines(ctx: Context) -> None:
    """Products enough for a 50-line cart, each with plenty in stock."""
    tag = f"{ctx.stack.dbs.kind}-{secrets.token_hex(3)}"
    ctx.state["many_products"] = [
        shopdata.new_product(ctx.app, 1_000_000, f"lines-{tag}-{n}")
        for n in range(max(CART_SIZES))]


def _counts(answer: requests.Response, what: str) -> list[int]:
    if "X-SQL-Statements" not in answer.headers:
        raise RuntimeError(f"{what} answered {answer.status_code} without SQL counts")
    return [int(answer.headers["X-SQL-Statements"]), int(answer.headers["X-SQL-Commits"])]


def _completed_event(ctx: Context, number: str) -> dict:
    listed = requests.get(ctx.stack.sandbox.base + "/v1/events", timeout=30, params={
        "type": "checkout.session.completed", "limit": 100},
        headers={"Authorization": f"Bearer {STRIPE_KEY}"}).json()
    for event in listed["data"]:
        if event["data"]["object"].get("client_reference_id") == number:
            return event
    raise RuntimeError(f"no checkout.session.completed event for order {number}")


def _counts_for_lines(ctx: Context, lines: int) -> dict[str, list[int]]:
    """One shopper with a cart of `lines` lines: cart page, checkout POST, payment, webhook,
    order page; the shop's statements and commits for each."""
    base = ctx.stack.shop.base
    products = ctx.state["many_products"][:lines]
    token = shopdata.carts(ctx.app, 1, products)[0]
    counts = {}
    with requests.Session() as browser:
        browser.cookies.set(CART_COOKIE, token, domain="127.0.0.1")
        counts["cart"] = _counts(browser.get(base + "/cart/", timeout=60), "the cart")
        page = browser.get(base + "/account/login", timeout=60)
        placed = browser.post(base + "/checkout/", timeout=60, allow_redirects=False, data={
            "csrf_token": CSRF.search(page.text).group(1),
            "checkout_token": secrets.token_urlsafe(24), **ADDRESS})
        if placed.status_code != 303:
            raise RuntimeError(f"a {lines}-line checkout answered {placed.status_code}")
        counts["checkout_post"] = _counts(placed, "the checkout POST")
        paid = browser.post(placed.headers["Location"], data=CARD, timeout=60,
                            allow_redirects=False)
        if paid.status_code != 303:
            raise RuntimeError(f"the sandbox's payment page answered {paid.status_code}")
    number = shopdata.latest_order_number(ctx.app)
    payload, signature = _signed(_completed_event(ctx, number))
    delivered = requests.post(base + "/webhooks/stripe", data=payload, timeout=60, headers={
        "Stripe-Signature": signature, "Content-Type": "application/json"})
    counts["webhook"] = _counts(delivered, "the webhook")
    path = shopdata.order_page_path(ctx.app, number)
    counts["order_page"] = _counts(requests.get(base + path, timeout=60), "the order page")
    return counts


def sql_by_lines(ctx: Context) -> Measured:
    """No load: the statements and commits of one cart page, checkout POST, webhook and order
    page with carts of 1, 10 and 50 lines (the issue wants them not to grow)."""
    return Measured(Load(done=0, seconds=0.0),
                    {"by_lines": {str(n): _counts_for_lines(ctx, n) for n in CART_SIZES}})


def _with_provider_delay(ctx: Context, milliseconds: int) -> Measured:
    """Checkout flows and, beside them, product pages at a fixed rate: what a slow provider
    costs the checkouts, and the other shoppers' pages.

    The product pages come at the same rate with or without the delay. A load that takes
    whatever the server has left (wrk) would take the CPU the waiting checkouts leave free,
    and the checkouts' ratio would measure how the two loads share the machine, and the
    pages' p50 would compare two different rates.
    """
    product_id, slug = ctx.state["products"][0]
    ctx.stack.set_provider_delay(milliseconds)
    try:
        async def both() -> tuple[Load, Load]:
            flows = closed_loop_async(
                ctx.stack.shop.base, lambda client: _checkout_flow(client, product_id, slug),
                concurrency=ctx.sizes.concurrency, seconds=ctx.sizes.seconds, time_flows=True)
            pages = fixed_rate_async(f"{ctx.stack.shop.base}/products/{slug}",
                                     rate=ctx.sizes.side_page_rate, seconds=ctx.sizes.seconds)
            return tuple(await asyncio.gather(flows, pages))

        checkout_load, pages = asyncio.run(both())
    finally:
        ctx.stack.set_provider_delay(0)
    # The server's CPU over that time went to the product pages too: no figure per flow.
    checkout_load.cpu_seconds = None
    return Measured(checkout_load, {
        "provider_delay_ms": milliseconds, "product_p50_ms": pages.percentile(50),
        "product_p99_ms": pages.percentile(99), "product_rate": round(pages.rate, 1)})


def provider_fast(ctx: Context) -> Measured:
    return _with_provider_delay(ctx, 0)


def provider_slow(ctx: Context) -> Measured:
    return _with_provider_delay(ctx, ctx.sizes.provider_delay_ms)


def _staff_cookie(ctx: Context) -> dict[str, str]:
    cookie = ctx.state.get("staff_cookie")
    if cookie is None:
        with requests.Session() as browser:
            page = browser.get(ctx.stack.shop.base + "/account/login", timeout=30)
            signed = browser.post(ctx.stack.shop.base + "/account/login", timeout=30,
                                  allow_redirects=False, data={
                                      "csrf_token": CSRF.search(page.text).group(1),
                                      "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            if signed.status_code != 303:
                raise RuntimeError(f"the staff sign-in answered {signed.status_code}")
            cookie = ctx.state["staff_cookie"] = "; ".join(
                f"{name}={value}" for name, value in browser.cookies.items())
    return {"Cookie": cookie}


def _staff_list(ctx: Context, orders: int, query: str) -> Measured:
    if shopdata.order_count(ctx.app) < orders:
        shopdata.add_orders(ctx.app, orders)
    measured = _wrk_scenario(ctx, f"{ctx.stack.shop.base}/staff/orders/{query}",
                             headers=_staff_cookie(ctx))
    measured.extra["orders"] = shopdata.order_count(ctx.app)
    return measured


SEARCH = "?q=shopper42%40example.com"


def outbox(ctx: Context) -> Measured:
    """`outbox_messages` order confirmations sent to the local SMTP sink, as the worker does."""
    if ctx.state.setdefault("outbox_runs", 0) == 0:
        shopdata.drain_outbox(ctx.app)  # what the scenarios before left: not this one's work
    ctx.state["outbox_runs"] += 1
    count = ctx.sizes.outbox_messages
    shopdata.fill_outbox(ctx.app, count, f"{ctx.stack.dbs.kind}-{ctx.state['outbox_runs']}-"
                                         f"{secrets.token_hex(3)}")
    before = ctx.sink.received
    started = time.perf_counter()
    sent = shopdata.drain_outbox(ctx.app)
    seconds = time.perf_counter() - started
    received = ctx.sink.received - before
    if received != count or sent != count:
        raise RuntimeError(f"outbox: {count} messages written, {sent} sent, {received} received")
    return Measured(Load(done=sent, seconds=seconds), {"messages": count})


# ---- the provider's floor ---------------------------------------------------------------
# What the Stripe calls DESIGN.md requires cost on their own, made through the official SDK by
# `concurrency` threads in the bench process, straight to the sandbox: a webhook verifies the
# signature (construct_event) and fetches the session; a checkout creates one. Nothing else
# runs, so a scenario's ratio can never exceed its floor's: the ceiling the design sets on this
# machine. The CPU column is the bench process's (the SDK's side, what the shop would spend
# even against the real Stripe); the sandbox's is in the notes.

FLOOR_SESSIONS = 20


def _stripe_client(ctx: Context) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": ctx.stack.sandbox.base})


def _session_params(ctx: Context) -> dict:
    """The parameters the shop sent for a 3-line cart, with a fresh expiry."""
    params = dict(ctx.state["floor_params"])
    if "expires_at" in params:
        params["expires_at"] = int(time.time()) + 3600
    return params


def setup_provider_floor(ctx: Context) -> None:
    """One order placed through the shop (its session parameters are the ones the floor
    sends) and the sessions the floor's webhook events name."""
    if "floor_params" in ctx.state:
        return
    tokens = collections.deque(shopdata.carts(ctx.app, 1, [p for p, _ in ctx.state["products"]]))

    async def place(client: Client) -> Answer:
        placed = await _place(client, tokens)
        if placed.status != 303:
            raise RuntimeError(f"setup: checkout answered {placed.status}")
        return placed

    closed_loop(ctx.stack.shop.base, place, concurrency=1, seconds=60, prepare=_fetch_csrf)
    ctx.state["floor_params"] = shopdata.latest_session_params(ctx.app)
    client = _stripe_client(ctx)
    sessions = []
    for _ in range(FLOOR_SESSIONS):
        created = client.v1.checkout.sessions.create(
            params=_session_params(ctx), options={"idempotency_key": secrets.token_hex(16)})
        # Paid on the sandbox's page, as the shop's webhooks' sessions are: a complete session
        # whose PaymentIntent the retrieve expands, not an open one with none.
        paid = requests.post(created.url, data=CARD, allow_redirects=False, timeout=30)
        if paid.status_code != 303:
            raise RuntimeError(f"setup: the sandbox's payment page answered {paid.status_code}")
        session = client.v1.checkout.sessions.retrieve(created.id)
        if (session.status, session.payment_status) != ("complete", "paid") \
                or not session.payment_intent:
            raise RuntimeError(f"setup: session {created.id} is {session.status}/"
                               f"{session.payment_status} after its payment")
        sessions.append(session)
    ctx.state["floor_sessions"] = sessions


def _provider_loop(ctx: Context, call: Callable[[int], None]) -> Measured:
    """`concurrency` threads each making `call(n)` for `seconds`; an exception counts as a
    failed unit (status 500), as a 5xx does in the other loads."""
    stop = time.perf_counter() + ctx.sizes.seconds
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    lock = threading.Lock()

    def worker(first: int) -> None:
        n = first
        while time.perf_counter() < stop:
            started = time.perf_counter()
            failed = None
            try:
                call(n)
            except Exception as error:  # noqa: BLE001 (counted and named in the notes)
                failed = f"{type(error).__name__}: {str(error)[:160]}"
            took = (time.perf_counter() - started) * 1000
            with lock:
                if failed is None:
                    statuses[200] += 1
                    latencies.append(took)
                else:
                    statuses[500] += 1
                    errors[failed] += 1
            n += ctx.sizes.concurrency

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(ctx.sizes.concurrency)]
    sandbox_before, cpu_before = ctx.stack.sandbox.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    load = Load(done=statuses[200], seconds=seconds, latencies_ms=latencies, statuses=statuses,
                cpu_seconds=time.process_time() - cpu_before)
    sandbox = ctx.stack.sandbox.cpu_seconds() - sandbox_before
    extra = {"sandbox_cpu_ms": round(sandbox * 1000 / max(1, load.done), 2)}
    if errors:
        extra["errors"] = dict(errors.most_common(3))
    return Measured(load, extra)


def floor_webhook(ctx: Context) -> Measured:
    """Verify a signed checkout.session.completed event and fetch its session, as the shop's
    webhook must before it may act."""
    client = _stripe_client(ctx)
    events = [_signed({"id": f"evt_floor_{n}", "object": "event", "api_version": None,
                       "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
                       "request": None, "type": "checkout.session.completed",
                       "data": {"object": session.to_dict()}})
              for n, session in enumerate(ctx.state["floor_sessions"])]

    def call(n: int) -> None:
        payload, signature = events[n % len(events)]
        event = client.construct_event(payload, signature, WEBHOOK_SECRET)
        client.v1.checkout.sessions.retrieve(event.data.object.id,
                                             params={"expand": ["payment_intent"]})

    return _provider_loop(ctx, call)


def floor_checkout(ctx: Context) -> Measured:
    """Create a Checkout Session for a 3-line cart with the shop's parameters."""
    client = _stripe_client(ctx)
    params = _session_params(ctx)

    def call(_n: int) -> None:
        client.v1.checkout.sessions.create(params=params,
                                           options={"idempotency_key": secrets.token_hex(16)})

    return _provider_loop(ctx, call)


def start_sink() -> tuple[SmtpSink, Controller]:
    """The local SMTP server the outbox scenario sends to (quiet: it logs every command)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    return sink, controller


def all_scenarios(sizes: Sizes) -> list[Scenario]:
    """Every scenario, in the order they run."""
    small, large = sizes.staff_orders_small, sizes.staff_orders_large
    return [
        Scenario("base_hello", "baseline: hello", "req/s", base_hello, is_baseline=True,
                 repeatable=True),
        Scenario("base_page", "baseline: template page the catalog's size", "req/s", base_page,
                 is_baseline=True, repeatable=True),
        Scenario("base_insert", "baseline: order + line insert", "req/s", base_insert,
                 is_baseline=True),
        Scenario("base_decrement", f"baseline: conditional decrement, {sizes.flash_units} units",
                 "units/s", base_decrement, is_baseline=True),
        Scenario("staff_list_small", f"staff orders list, {small:,} orders", "req/s",
                 lambda ctx: _staff_list(ctx, small, ""), "base_page", repeatable=True),
        Scenario("staff_search_small", f"staff orders search, {small:,} orders", "req/s",
                 lambda ctx: _staff_list(ctx, small, SEARCH), "base_page", repeatable=True),
        Scenario("staff_list_large", f"staff orders list, {large:,} orders", "req/s",
                 lambda ctx: _staff_list(ctx, large, ""), "staff_list_small",
                 repeatable=True),
        Scenario("staff_search_large", f"staff orders search, {large:,} orders", "req/s",
                 lambda ctx: _staff_list(ctx, large, SEARCH), "staff_search_small",
                 repeatable=True),
        Scenario("catalog", "catalog page", "req/s", catalog, "base_page", repeatable=True),
        Scenario("product", "product page", "req/s", product, "base_page", repeatable=True),
        Scenario("cart", "cart, 3 lines", "req/s", cart, "base_page", repeatable=True),
        Scenario("order_page", "order page", "req/s", order_page, "base_page", repeatable=True),
        Scenario("add_to_cart", "add to cart", "req/s", add_to_cart, "base_insert"),
        Scenario("checkout_flow", "checkout flow (product, add, checkout page, place → 303)",
                 "flows/s", checkout_flow, "base_insert"),
        Scenario("checkout_post", "checkout POST alone, 3-line cart", "orders/s", checkout_post,
                 "base_insert", setup=setup_checkout_post),
        Scenario("webhooks", "signed webhook deliveries, a fifth duplicates", "events/s",
                 webhooks, "base_insert", setup=setup_webhooks),
        Scenario("invoice_pdf", "invoice PDF downloads", "req/s", invoice_pdf),
        Scenario("refund", "staff refund (refund page + POST)", "refunds/s", refund,
                 "base_insert"),
        Scenario("sql_by_lines", "SQL per request for carts of 1, 10 and 50 lines (no load)",
                 "", sql_by_lines, setup=setup_sql_by_lines),
        Scenario("flash_sale", f"flash sale, {sizes.flash_units} units, "
                 f"{sizes.flash_shoppers} shoppers", "orders/s", flash_sale, "base_decrement"),
        Scenario("provider_fast", "checkout flow beside product pages, provider 0 ms",
                 "flows/s", provider_fast, "base_insert"),
        Scenario("provider_slow", f"checkout flow beside product pages, provider "
                 f"{sizes.provider_delay_ms} ms", "flows/s", provider_slow, "provider_fast"),
        Scenario("outbox", f"outbox: {sizes.outbox_messages:,} e-mails to a local SMTP sink",
                 "mails/s", outbox),
        Scenario("floor_webhook", "floor: a webhook's Stripe calls alone (verify, retrieve)",
                 "events/s", floor_webhook, "base_insert", setup=setup_provider_floor),
        Scenario("floor_checkout", "floor: a checkout's Stripe call alone (create, 3 lines)",
                 "orders/s", floor_checkout, "base_insert", setup=setup_provider_floor),
    ]
