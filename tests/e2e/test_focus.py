"""Issue 10, finding 4 in a real browser: the keyboard's focus is seen and put where it helps.

A product card's focus ring is drawn whole (the card used to clip it), in the ring colour the
stylesheet declares; after a failed submit the browser focuses the error summary, with no
script (autofocus on a tabindex="-1" element), and its links lead to fields the page has.
"""

import contextlib
import io
import re

from PIL import Image
from playwright.sync_api import Page, expect

from tests.contrast_support import contrast
from tests.e2e.support import (
    DECLINED_CARD,
    fill_address,
    fill_card,
    sign_in,
    summary_state,
    wait_for_focus_on_summary,
)
from tests.served_support import ServedShop

ACTIVE_CARD_LINK = "document.activeElement.matches('.product-card a')"


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.strip().lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def _close(pixel: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel[:3], expected, strict=True))


def test_a_product_cards_focus_ring_is_drawn_on_all_four_sides(page: Page, shop: ServedShop):
    page.set_viewport_size({"width": 1000, "height": 900})
    page.goto(f"{shop.base}/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE_CARD_LINK):
            break
    assert page.evaluate(ACTIVE_CARD_LINK), "Tab never reached a product card"
    ring = _hex(page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--focus')"))
    style = page.evaluate("""() => {
      const s = getComputedStyle(document.activeElement);
      return {width: parseFloat(s.outlineWidth), offset: parseFloat(s.outlineOffset),
              style: s.outlineStyle};
    }""")
    assert style["style"] == "solid" and style["width"] >= 2, style
    box = page.evaluate("""() => {
      const r = document.activeElement.getBoundingClientRect();
      return {x: r.x, y: r.y, width: r.width, height: r.height};
    }""")
    margin = 12
    shot = Image.open(io.BytesIO(page.screenshot(clip={
        "x": box["x"] - margin, "y": box["y"] - margin,
        "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin,
    }))).convert("RGB")
    # The middle of the ring's stroke, just outside the link, at the middle of each side.
    out = margin - style["offset"] - style["width"] / 2
    w, h = shot.size
    sides = {
        "top": (w // 2, round(out)), "bottom": (w // 2, round(h - 1 - out)),
        "left": (round(out), h // 2), "right": (round(w - 1 - out), h // 2),
    }
    missing = {side: shot.getpixel(xy) for side, xy in sides.items()
               if not _close(shot.getpixel(xy), ring)}
    assert missing == {}, f"ring {ring} not drawn on: {missing}"
    # WCAG 2.2 asks 3:1 of the ring against what it is drawn on: the page, as the browser
    # painted it just outside the ring (the old #9cc8b0 on #fbfaf7 was about 1.8:1).
    around = "#{:02x}{:02x}{:02x}".format(*shot.getpixel((1, 1))[:3])
    ratio = contrast("#{:02x}{:02x}{:02x}".format(*ring), around)
    assert ratio >= 3, f"ring {ring} on {around}: {ratio:.2f}:1"


def test_an_empty_checkout_focuses_the_summary_whose_links_reach_each_field(
        page: Page, shop: ServedShop):
    page.goto(f"{shop.base}/products/ceramic-mug")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{shop.base}/checkout/")
    assert summary_state(page)["links"] == []
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    expect(page.locator(".error-summary")).to_be_visible()
    wait_for_focus_on_summary(page)
    state = summary_state(page)
    assert state["focused"], f"focus is on {state['active']}"
    assert state["heading"] == "There is a problem"
    assert state["missing"] == [] and len(state["links"]) >= 6, state
    assert "#email" in state["links"] and "#postal_code" in state["links"]
    assert any(link.startswith("#shipping-") for link in state["links"]), state["links"]
    # The summary is announced: it is an alert the focus landed on.
    expect(page.locator(".error-summary")).to_have_attribute("role", "alert")

    # Following a link reaches its field.
    page.locator(".error-summary a[href='#postal_code']").click()
    assert page.evaluate("location.hash") == "#postal_code"
    box = page.locator("#postal_code").bounding_box()
    # In view: scrolled to the top edge, give or take a sub-pixel of rounding.
    assert box is not None and -1 <= box["y"] < page.viewport_size["height"]


def test_a_failed_sign_in_focuses_the_summary(page: Page, shop: ServedShop):
    sign_in(page, shop, "nobody@example.com", "not a password at all")
    wait_for_focus_on_summary(page)
    state = summary_state(page)
    assert state["focused"], f"focus is on {state['active']}"
    assert state["links"] == ["#password"] and state["missing"] == []


def test_a_declined_card_on_the_payment_page_focuses_its_alert(page: Page, shop: ServedShop):
    page.goto(f"{shop.base}/products/ceramic-mug")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{shop.base}/checkout/")
    fill_address(page, email="declined@example.com")
    page.get_by_role("button", name=re.compile("Continue to payment")).click()
    fill_card(page, "declined@example.com", DECLINED_CARD)
    page.get_by_role("button", name="Pay ").first.click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("declined")
    # The sandbox's page runs no script (its CSP allows none, not even the test's eval): the
    # browser's autofocus moves the focus, a moment after the load event.
    with contextlib.suppress(AssertionError):
        expect(page.locator(".alert")).to_be_focused(timeout=5_000)
    active = page.evaluate(
        "document.activeElement.tagName + '.' + document.activeElement.className")
    assert active == "DIV.alert bad", f"focus is on {active}"


# The step itself: it once polled a string with wait_for_function, which the shop's CSP refuses
# to eval, so a focus landing late raised an EvalError instead of waiting.
def test_waiting_for_a_focus_that_is_elsewhere_times_out_quietly(page: Page, shop: ServedShop):
    # A page with no error summary: the wait must give up after its 5 s, as its docstring says.
    page.goto(f"{shop.base}/account/login")
    wait_for_focus_on_summary(page)
    assert summary_state(page)["focused"] is False
