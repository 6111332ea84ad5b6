"""Issue 10 in a real browser: a whole checkout with the keyboard alone, the focus seen at
every stop.

From the catalog to the confirmation only Tab, Shift+Tab, Enter, Space and the arrow keys move
and press things, and typing goes to whichever field the keyboard focused: no mouse click, no
`fill` on an element. At each stop the focused element must show it (an outline or a box
shadow); the stops that do not are named together at the end.
"""

import re

from playwright.sync_api import Page, expect

from tests.e2e.support import GOOD_CARD
from tests.served_support import ServedShop

EMAIL = "keys@example.com"
# Enough for any page here: the shop's header and a catalog of a few products.
MAX_TABS = 60

# How the focused element is drawn, and what it is (for the failure messages).
FOCUSED = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow !== 'none';
  const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.getAttribute('href') ? `[href=${el.getAttribute('href')}]` : '') +
    (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 40)}"` : '');
  return {visible: outline || shadow, name, body: el === document.body};
}"""


class Keyboard:
    """Moves through a page with Tab and checks, at each stop, that the focus shows."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops = 0
        self.unseen: list[str] = []

    def _look(self) -> dict:
        focused = self.page.evaluate(FOCUSED)
        if not focused["body"]:
            self.stops += 1
            if not focused["visible"]:
                self.unseen.append(f"{self.page.url}: {focused['name']}")
        return focused

    def tab_to(self, selector: str, *, backwards: bool = False) -> None:
        """Press Tab (or Shift+Tab) until the element matching `selector` has the focus."""
        for _ in range(MAX_TABS):
            self.page.keyboard.press("Shift+Tab" if backwards else "Tab")
            self._look()
            if self.page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"{MAX_TABS} Tabs never reached {selector} on {self.page.url}")

    def type_into(self, selector: str, text: str) -> None:
        self.tab_to(selector)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)
        expect(self.page.locator(selector)).to_have_value(text)


def test_a_whole_checkout_with_the_keyboard_alone(page: Page, shop: ServedShop, shots):
    keys = Keyboard(page)
    page.goto(f"{shop.base}/")
    shots(page, "catalog")

    keys.tab_to(".product-card a[href='/products/ceramic-mug']")
    shots(page, "a product card focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/products/ceramic-mug$"))

    keys.tab_to("button.primary")
    expect(page.locator("*:focus")).to_have_text(re.compile("Add to cart"))
    shots(page, "add to cart focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/cart/$"))

    keys.tab_to("a[href='/checkout/']:not(.skip-link)")
    shots(page, "check out focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("/checkout/$"))

    keys.type_into("#email", EMAIL)
    keys.type_into("#name", "Ada Lovelace")
    keys.type_into("#line1", "1 Main St")
    keys.type_into("#city", "Springfield")
    keys.type_into("#postal_code", "12345")
    keys.tab_to("#country")
    # A closed select takes the first letters of an option's name.
    page.keyboard.type("United States")
    expect(page.locator("#country")).to_have_value("US")

    # Tab enters the radio group on its checked button; the arrows move the choice.
    keys.tab_to("input[name=shipping_method]")
    page.keyboard.press("ArrowDown")
    keys._look()
    expect(page.locator("input[name=shipping_method]:checked")).not_to_have_id("shipping-standard")
    page.keyboard.press("ArrowUp")
    keys._look()
    expect(page.locator("#shipping-standard")).to_be_checked()
    expect(page.locator("#shipping-standard")).to_be_focused()
    shots(page, "standard shipping chosen with the arrows")

    keys.tab_to("button[type=submit].primary")
    expect(page.locator("*:focus")).to_have_text(re.compile("Continue to payment"))
    page.keyboard.press("Enter")

    # The sandbox's hosted page: the e-mail came with the session.
    expect(page.get_by_label("Card number")).to_be_visible()
    expect(page.locator("#email")).to_have_value(EMAIL)
    keys.type_into("#number", GOOD_CARD)
    keys.type_into("#exp", "12 / 40")
    keys.type_into("#cvc", "123")
    keys.type_into("#name", "Ada Lovelace")
    keys.tab_to("button.pay")
    shots(page, "pay focused")
    page.keyboard.press("Space")

    expect(page.get_by_text("your order is confirmed")).to_be_visible()
    shots(page, "confirmed")
    assert keys.stops > 20, keys.stops
    assert keys.unseen == [], "focus not shown at:\n  " + "\n  ".join(keys.unseen)
