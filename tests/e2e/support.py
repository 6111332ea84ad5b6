"""Steps the browser journeys share: sign in, buy, pay on the sandbox's page, screenshots and
the accessibility check."""

import contextlib
import re
import shutil
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Product, Stock
from checkout.services import inventory
from tests.served_support import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, ServedShop

# Generous: on a loaded two-core machine a served page can take seconds. A journey waits on
# what a person would see, so a longer wait costs nothing when the page is quick.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)

# Git-ignored; a person looks here to see what the journeys saw.
SCREENSHOTS = ROOT / "e2e-screenshots"

BANK_SETTINGS = {
    "BANK_TRANSFER": "1",
    "BANK_TRANSFER_ACCOUNT_NAME": "Fernhill Supply Ltd",
    "BANK_TRANSFER_IBAN": "GB33BUKB20201555555555",
    "BANK_TRANSFER_BIC": "BUKBGB22",
}

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
THREE_D_SECURE_CARD = "4000 0025 0000 3155"

# axe-core's impact levels that fail a page; "moderate" and "minor" are reported, not failed.
BLOCKING_IMPACTS = {"serious", "critical"}
# ...except these moderate rules, which issue 10 names: content outside any landmark (the
# sandbox's test-mode banner was), and landmarks a page repeats or lacks.
BLOCKING_RULES = {"region", "landmark-one-main", "landmark-no-duplicate-main",
                  "landmark-unique"}
_axe = Axe()
T = TypeVar("T")


class Screenshots:
    """Numbered full-page screenshots of one journey, in the order its steps were taken."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.taken = 0

    def __call__(self, page: Page, step: str) -> Path:
        self.taken += 1
        name = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.taken:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def serious_accessibility_violations(page: Page) -> list[str]:
    """Run axe-core on the page as it stands; describe each violation that fails it."""
    results = _axe.run(page)
    found = []
    for violation in results.response["violations"]:
        blocking = (violation.get("impact") in BLOCKING_IMPACTS
                    or violation["id"] in BLOCKING_RULES)
        if not blocking:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
        found.append(f"{violation['impact']} {violation['id']}: {violation['help']} "
                     f"at {targets}")
    return found


def assert_accessible(page: Page, what: str) -> None:
    """Fail naming the page and each serious or critical axe-core violation on it."""
    found = serious_accessibility_violations(page)
    assert not found, f"{what} ({page.url}):\n  " + "\n  ".join(found)


def sign_in(page: Page, shop: ServedShop, email: str = ADMIN_EMAIL,
            password: str = ADMIN_PASSWORD) -> None:
    if "/account/login" not in page.url:
        page.goto(f"{shop.base}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def register(page: Page, email: str, password: str) -> None:
    """Fill the open sign-up form and create the account; registering signs nobody in."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile("/account/login"))


def fill_address(page: Page, *, email: str | None, name: str = "Ada Lovelace") -> None:
    """Fill the checkout form's contact and address fields (a US address, standard shipping)."""
    if email is not None:
        page.get_by_label("Email").fill(email)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Address", exact=True).fill("1 Main St")
    page.get_by_label("City").fill("Springfield")
    page.get_by_label("Postal code").fill("12345")
    page.get_by_label("Country").select_option("US")
    page.locator("#shipping-standard").check()


def buy(page: Page, shop: ServedShop, *, email: str, product: str = "ceramic-mug",
        bank_transfer: bool = False) -> str:
    """Put one product in the cart and check out as a guest; return the order number.

    By card it pays on the sandbox's hosted page and comes back to the success page; by bank
    transfer it stops at the page with the shop's bank details.
    """
    page.goto(f"{shop.base}/products/{product}")
    page.get_by_role("button", name="Add to cart").click()
    page.goto(f"{shop.base}/checkout/")
    fill_address(page, email=email)
    if bank_transfer:
        page.locator("#payment-bank-transfer").check()
    page.get_by_role("button", name="Continue to payment").click()
    if bank_transfer:
        # Read the number only once the bank details page is there: read at once, a loaded
        # machine can still be showing the checkout form, which has none.
        expect(page.locator(".payment-reference")).to_be_visible()
    else:
        pay_by_card(page, email)
    return order_number(page)


def order_number(page: Page) -> str:
    number = re.search(r"[0-9A-Z]{4}-[0-9A-Z]{4}", page.content())
    assert number, page.content()
    return number.group(0)


def fill_card(page: Page, email: str, card: str = GOOD_CARD) -> None:
    """Fill the sandbox's payment form with `card` (any future expiry, any CVC)."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 40")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")


def pay_by_card(page: Page, email: str) -> None:
    """Pay on the sandbox's page with a card that succeeds; wait for the shop's thanks."""
    fill_card(page, email)
    page.get_by_role("button", name="Pay ").first.click()
    expect(page.get_by_text("your order is confirmed")).to_be_visible()


def add_to_cart(page: Page, shop: ServedShop, product: str, quantity: int = 1) -> None:
    """Add `quantity` of a product from its page; wait for the cart to say so."""
    page.goto(f"{shop.base}/products/{product}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(f"{shop.base}/cart/")
    expect(page.get_by_text(f"Added {quantity} ×")).to_be_visible()


def eventually(check: Callable[[], T], what: str, seconds: float = 20) -> T:
    """Poll `check` until it returns something truthy: the job worker and the webhooks do
    their work in their own time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def mails_to(shop: ServedShop, address: str, subject_has: str) -> list[EmailMessage]:
    """The mails the worker wrote to `address` whose subject has `subject_has`, oldest first."""
    paths = sorted(shop.mail_dir.glob("*.eml"), key=lambda path: path.stat().st_mtime)
    messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]
    return [m for m in messages if m["To"] == address and subject_has in m["Subject"]]


def link_in_mail(shop: ServedShop, address: str, subject_has: str, path: str) -> str:
    """The link to `path` in the newest such mail, once the job worker has sent it."""
    message = eventually(lambda: mails_to(shop, address, subject_has),
                         f"a mail to {address} about {subject_has!r}")[-1]
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"https?://\S+{re.escape(path)}\S+", text)
    assert link, text
    assert link.group(0).startswith(shop.base), link.group(0)
    return link.group(0)


def stock_of(shop: ServedShop, slug: str) -> tuple[int, int]:
    """The product's (on_hand, held)."""
    with shop.app.app_context():
        stock = db.session.scalar(
            select(Stock).join(Product, Product.id == Stock.product_id).where(Product.slug == slug))
        found = (stock.on_hand, stock.held)
        db.session.remove()
        return found


def set_on_hand(shop: ServedShop, slug: str, units: int) -> None:
    """Adjust the product's stock on hand to `units`, as staff would, with nothing held."""
    with shop.app.app_context():
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        change = units - product.stock.on_hand
        assert inventory.adjust_on_hand(product.id, change, note="e2e: stock set by the test",
                                        user_id=None) is not None
        db.session.commit()
        db.session.remove()
    assert stock_of(shop, slug) == (units, 0)


def wait_for_focus_on_summary(page: Page) -> None:
    """Wait (5 s at most) for the focus to land on the error summary."""
    # The browser applies autofocus at its next rendering update, which can come a moment
    # after the load event: wait for it (the assertion after says where the focus is if not).
    # Playwright's own polling, not wait_for_function: a string there is eval'd in the page,
    # which the shop's CSP refuses.
    with contextlib.suppress(AssertionError):
        expect(page.locator(".error-summary")).to_be_focused(timeout=5_000)


def summary_state(page: Page) -> dict:
    """Where the focus is, and the error summary's heading and links (and those leading nowhere)."""
    return page.evaluate("""() => {
      const summary = document.querySelector('.error-summary');
      const anchors = summary ? [...summary.querySelectorAll('a')] : [];
      const links = anchors.map(a => a.getAttribute('href'));
      return {
        focused: summary !== null && document.activeElement === summary,
        active: document.activeElement.tagName + '.' + document.activeElement.className,
        heading: summary ? summary.querySelector('h2').textContent : null,
        links,
        missing: links.filter(h => !h.startsWith('#') || !document.getElementById(h.slice(1))),
      };
    }""")
