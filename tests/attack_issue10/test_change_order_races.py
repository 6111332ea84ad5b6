""""Change my order" racing the payment's webhook, as threads (the PostgreSQL pass too)."""

import re
import threading
import time

import pytest

from checkout.domain.order_status import PAID_STATUSES, OrderStatus
from tests.conftest import csrf_token
from tests.shop import place_and_get_session
from tests.state import guest_token, only_order, stock_of, text_of

# How long the payment waits after the click: spreads the rounds over every interleaving, from
# the payment landing first to the cancellation done before the card is even sent.
PAYMENT_DELAYS = [0, 0.01, 0.02, 0.025, 0.03, 0.04, 0.08, 0.3]


def _both_at_once(*jobs) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # a crash in either thread is the finding, reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("delay", PAYMENT_DELAYS)
def test_change_my_order_racing_the_payment_ends_paid_or_cancelled_never_both(
    app, sandbox, products, delay
):
    shopper = app.test_client()
    session_id = place_and_get_session(shopper, products["VASE"], 1)
    number = only_order(app).number
    cancel = f"/checkout/orders/{number}/cancel?t={guest_token(app, number)}"
    token = csrf_token(shopper)

    paid, changed = _both_at_once(
        lambda: time.sleep(delay) or sandbox.pay(session_id),
        lambda: shopper.post(cancel, data={"csrf_token": token}),
    )
    assert not isinstance(paid, Exception), paid
    assert not isinstance(changed, Exception), changed
    assert changed.status_code == 303, changed.status_code
    order = only_order(app)
    session = sandbox.retrieve_session(session_id)
    if OrderStatus(order.status) in PAID_STATUSES:
        # The money won: the shopper is sent to the paid order and told, the cart not refilled.
        assert paid.ok and session["status"] == "complete"
        assert "/orders/" in changed.headers["Location"]
        page = text_of(shopper.get(changed.headers["Location"]))
        assert "paid" in page and "was not cancelled" in page
        assert not re.search(rf'id="qty-{products["VASE"]}"', text_of(shopper.get("/cart/")))
        assert stock_of(app, products["VASE"]) == (0, 0)
    else:
        # The change won: nobody could pay the cancelled order, and its vase is back on sale.
        assert order.status == OrderStatus.CANCELLED
        assert not paid.ok and session["status"] == "expired"
        assert changed.headers["Location"].endswith("/cart/")
        assert re.search(rf'id="qty-{products["VASE"]}"[^>]*value="1"',
                         text_of(shopper.get("/cart/")))
        assert stock_of(app, products["VASE"]) == (1, 0)
