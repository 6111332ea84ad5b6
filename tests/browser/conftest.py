"""A real browser (Debian's Chromium, driven by Playwright) against the shop served for real:
gunicorn, the job worker and the in-process sandbox, as `make run` has them.

CHROMIUM names the browser binary (default: `chromium` on PATH); `.ci/run` installs Debian's.
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.served_support import ADMIN_EMAIL, ADMIN_PASSWORD, ServedShop, serve_shop


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("The browser tests need Chromium: apt-get install chromium (or set CHROMIUM).")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[ServedShop]:
    with serve_shop(tmp_path_factory.mktemp("served"), with_worker=True,
                    settings={"BANK_TRANSFER": "1"}) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, shop: ServedShop, email: str = ADMIN_EMAIL,
            password: str = ADMIN_PASSWORD) -> None:
    if "/account/login" not in page.url:
        page.goto(f"{shop.base}/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
