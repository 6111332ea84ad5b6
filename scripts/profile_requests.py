"""Profile the shop's hot request paths under pyinstrument, through the Flask test client.

    .venv/bin/python scripts/profile_requests.py [--lines 10] [--rounds 20] [--html DIR]
    .venv/bin/python scripts/profile_requests.py --reads [--rounds 200]

Plays `rounds` shoppers, each with a cart of `lines` products, on a throw-away SQLite shop
with the sandbox (as the tests do), and profiles each path across every shopper: the cart page,
the checkout POST, the checkout.session.completed webhook and the order page. Prints, per path,
the shop's SQL statements and commits per request (tests/sql_support.py counts them the way
tests/test_sql_counts.py does) and pyinstrument's call tree; `--html` also writes one page per
path. This is how issue 11's profile-driven fixes were found (README, "Performance notes").

`--reads` profiles the read pages instead, as `make bench` loads them: the catalog, a product
page, a 3-line cart and a guest order page, each GET `rounds` times unprofiled (the CPU
milliseconds per request it prints) and `rounds` times under the profiler (the call tree).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from pyinstrument import Profiler
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from checkout import create_app  # noqa: E402
from checkout.extensions import db  # noqa: E402
from checkout.models import Cart, CartLine, Order, Product  # noqa: E402
from checkout.services.orders import access_token  # noqa: E402
from tests.conftest import BASE_URL  # noqa: E402
from tests.factories import ProductFactory  # noqa: E402
from tests.shop import add_to_cart, checkout_form, session_id_of, submit_checkout  # noqa: E402
from tests.sql_support import statements  # noqa: E402
from tests.test_webhooks import sign  # noqa: E402

PATHS = ("cart page", "checkout POST", "webhook", "order page")
READ_PATHS = ("catalog", "product page", "cart, 3 lines", "order page")


def make_app(folder: Path):
    app = create_app({
        "TESTING": True, "SECRET_KEY": "profile", "PAYMENTS": "sandbox",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.sqlite'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{folder / 'sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": False, "JOBS_IMMEDIATE": True, "MAIL_DIR": str(folder / "mail"),
        "UPLOAD_FOLDER": str(folder / "uploads"), "SMTP_HOST": None,
        "PUBLIC_BASE_URL": BASE_URL, "SANDBOX_WEBHOOK_URL": f"{BASE_URL}/webhooks/stripe",
        "STORE_CURRENCY": "USD", "RATELIMIT_ENABLED": False,
    })
    with app.app_context():
        upgrade()
    return app


def fill_carts(app, rounds: int, lines: int) -> list:
    """One client per shopper, each with a cart of `lines` products."""
    with app.app_context():
        ids = [ProductFactory(sku=f"P{i}", price=500 + i, on_hand=1_000_000).id
               for i in range(lines)]
        db.session.remove()
    clients = []
    for _ in range(rounds):
        client = app.test_client()
        assert add_to_cart(client, ids[0], 1).status_code == 303
        with app.app_context():
            cart = db.session.scalars(select(Cart).order_by(Cart.id.desc())).first()
            db.session.add_all(CartLine(cart_id=cart.id, product_id=pid, quantity=1)
                               for pid in ids[1:])
            db.session.commit()
            db.session.remove()
        clients.append(client)
    return clients


def run(app, clients, profilers, counts) -> None:
    def measured(path, call):
        with statements(app) as log:
            profilers[path].start()
            try:
                response = call()
            finally:
                profilers[path].stop()
        counts[path].append((log.count, log.commits))
        return response

    forms = []
    for client in clients:
        assert measured("cart page", lambda c=client: c.get("/cart/")).status_code == 200
        forms.append(checkout_form(client))
    session_ids = [session_id_of(measured("checkout POST", lambda c=c, f=f: submit_checkout(c, f)))
                   for c, f in zip(clients, forms, strict=True)]
    sandbox = app.extensions["sandbox"]
    for session_id in session_ids:
        assert sandbox.pay(session_id).ok
    completed = {event["data"]["object"]["id"]: json.dumps(event).encode()
                 for event in sandbox.events() if event["type"] == "checkout.session.completed"}
    hook = app.test_client()
    for session_id in session_ids:
        body = completed[session_id]
        answer = measured("webhook", lambda b=body: hook.post(
            "/webhooks/stripe", data=b,
            headers={"Stripe-Signature": sign(b), "Content-Type": "application/json"}))
        assert answer.status_code == 200, answer.get_data(as_text=True)
    with app.app_context():
        urls = [f"/orders/{o.number}?t={access_token(o)}"
                for o in db.session.scalars(select(Order).order_by(Order.id))]
        db.session.remove()
    for client, url in zip(clients, urls, strict=True):
        assert measured("order page", lambda c=client, u=url: c.get(u)).status_code == 200


def read_pages(app, rounds: int, profilers, counts) -> dict[str, float]:
    """GET each read page `rounds` times under its profiler; return CPU ms per request."""
    client, shopper = fill_carts(app, 2, 3)
    session_id = session_id_of(submit_checkout(client, checkout_form(client)))
    assert app.extensions["sandbox"].pay(session_id).ok
    with app.app_context():
        order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
        order_url = f"/orders/{order.number}?t={access_token(order)}"
        slug = db.session.scalars(select(Product.slug).order_by(Product.id)).first()
        db.session.remove()
    urls = {"catalog": "/", "product page": f"/products/{slug}", "cart, 3 lines": "/cart/",
            "order page": order_url}
    cpu = {}
    for path, url in urls.items():
        guest = shopper if path.startswith("cart") else app.test_client()
        assert guest.get(url).status_code == 200  # warm: templates compiled, caches filled
        # CPU per request without the profiler first (it adds its own), then the profile.
        started = time.process_time()
        for _ in range(rounds):
            assert guest.get(url).status_code == 200
        cpu[path] = (time.process_time() - started) * 1000 / rounds
        for _ in range(rounds):
            with statements(app) as log:
                profilers[path].start()
                try:
                    response = guest.get(url)
                finally:
                    profilers[path].stop()
            assert response.status_code == 200, (url, response.status_code)
            counts[path].append((log.count, log.commits))
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--html", type=Path)
    parser.add_argument("--reads", action="store_true", help="profile the read pages instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp))
        if args.reads:
            profilers = {path: Profiler(interval=0.0005) for path in READ_PATHS}
            counts = {path: [] for path in READ_PATHS}
            cpu = read_pages(app, args.rounds, profilers, counts)
            app.extensions["sandbox"].close()
            _print(READ_PATHS, profilers, counts, args, cpu)
            return
        clients = fill_carts(app, args.rounds, args.lines)
        profilers = {path: Profiler(interval=0.0005) for path in PATHS}
        counts = {path: [] for path in PATHS}
        run(app, clients, profilers, counts)
        app.extensions["sandbox"].close()
    _print(PATHS, profilers, counts, args)


def _print(paths, profilers, counts, args, cpu=None) -> None:
    for path in paths:
        seen = sorted(set(counts[path]))
        spent = f"; CPU {cpu[path]:.2f} ms per request (without the profiler)" if cpu else ""
        print(f"== {path}: {args.rounds} requests; "
              f"(statements, commits) per request: {seen}{spent}")
        print(profilers[path].output_text(unicode=True, color=False, show_all=False))
        if args.html:
            args.html.mkdir(parents=True, exist_ok=True)
            (args.html / f"{path.replace(' ', '-')}.html").write_text(profilers[path].output_html())


if __name__ == "__main__":
    main()
