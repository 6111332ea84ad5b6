"""A real browser (Debian's Chromium, driven by Playwright) against the shop served for real:
gunicorn, the job worker and the in-process sandbox, as `make run` has them.

CHROMIUM names the browser binary (default: `chromium` on PATH). Without one these tests skip,
saying how to install it; with E2E_REQUIRED=1 (`.ci/run` sets it, after installing Debian's
Chromium) a missing browser fails them instead, so CI can never pass by skipping them.
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.support import BANK_SETTINGS, SCREENSHOTS, TIMEOUT_MS, Screenshots
from tests.served_support import ServedShop, serve_shop

INSTALL_HINT = ("The browser tests need Chromium: apt-get install chromium "
                "(or set CHROMIUM to a Chromium binary).")


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if path and Path(path).exists():
        return path
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"{INSTALL_HINT} E2E_REQUIRED=1 makes a missing browser a failure.")
    pytest.skip(INSTALL_HINT)


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """The browser's binary, asked for before any shop is served: skip (or fail) at once."""
    return _chromium()


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[ServedShop]:
    # Threads, as production serves: a browser's idle preconnections must not stall the shop.
    with serve_shop(tmp_path_factory.mktemp("served"), with_worker=True, threads=4,
                    settings=BANK_SETTINGS) as served:
        yield served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shots(request) -> Screenshots:
    """Save screenshots of a journey's key steps under e2e-screenshots/<module>/<test>/."""
    module = Path(request.node.fspath).stem
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
    return Screenshots(SCREENSHOTS / module / test)
