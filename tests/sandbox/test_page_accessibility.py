"""Issue 10, finding 5: the hosted payment page's error text meets AA contrast (4.5:1) and its
test-mode banner sits inside a landmark, on every page the sandbox renders.

The colours are read from the page's own stylesheet (the nonce'd <style> in _layout.html), the
landmarks from the HTML the sandbox serves.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import stripe_sandbox
from tests.contrast_support import contrast, custom_properties

from .test_page import CARD_FORM, open_session, page_path

LAYOUT = Path(stripe_sandbox.__file__).resolve().parent / "templates" / "_layout.html"
LANDMARKS = {"header", "main", "footer", "nav", "aside"}
LANDMARK_ROLES = {"banner", "main", "contentinfo", "navigation", "complementary", "region"}


def _page_css() -> str:
    style = re.search(r"<style[^>]*>(.*?)</style>", LAYOUT.read_text(), re.S)
    assert style, "the sandbox layout has no <style>"
    return style.group(1)


def test_error_text_has_aa_contrast_on_the_alert_and_on_the_card():
    colours = custom_properties(_page_css())
    # The alert box (a declined card) and the message under a field (on the white card).
    assert contrast(colours["--bad"], colours["--bad-bg"]) >= 4.5
    assert contrast(colours["--bad"], "#fff") >= 4.5


def test_the_error_styles_use_the_checked_colours():
    css = _page_css()
    assert re.search(r"\.alert\.bad\s*\{[^}]*background:var\(--bad-bg\);\s*color:var\(--bad\)", css)
    assert re.search(r"\.field-error\s*\{[^}]*color:var\(--bad\)", css)


class _Banner(HTMLParser):
    """Finds the test-mode banner and the landmarks it is (or is nested in)."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.banner_inside: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "testmode" in (attributes.get("class") or "").split():
            self.banner_inside.append([
                t if t in LANDMARKS else f"role={a.get('role')}"
                for t, a in [*self.stack, (tag, attributes)]
                if t in LANDMARKS or a.get("role") in LANDMARK_ROLES
            ])
        if tag not in self.VOID:
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _landmarks_around_banner(html: str) -> list[str]:
    parser = _Banner()
    parser.feed(html)
    assert len(parser.banner_inside) == 1, "one test-mode banner per page"
    return parser.banner_inside[0]


def test_the_parser_sees_a_banner_outside_any_landmark():
    outside = '<body><div class="testmode">TEST MODE</div><main><p>x</p></main></body>'
    inside = '<body><header><div class="testmode">TEST MODE</div></header><main></main></body>'
    itself = '<body><div role="banner" class="testmode">TEST MODE</div><main></main></body>'
    assert _landmarks_around_banner(outside) == []
    assert _landmarks_around_banner(inside) == ["header"]
    assert _landmarks_around_banner(itself) == ["role=banner"]


@pytest.mark.parametrize("which", ["form", "invalid card", "declined card", "missing session"])
def test_the_banner_is_inside_a_landmark(app, which):
    client = app.test_client()
    session = open_session(app)
    path = page_path(session)
    if which == "form":
        response = client.get(path)
    elif which == "invalid card":
        response = client.post(path, data={**CARD_FORM, "number": "4242"})
    elif which == "declined card":
        response = client.post(path, data={**CARD_FORM, "number": "4000 0000 0000 0002"})
    else:
        response = client.get("/pay/cs_test_missing")
    html = response.get_data(as_text=True)
    assert "TEST MODE" in html
    if which != "form":
        assert response.status_code >= 400
    assert _landmarks_around_banner(html), f"the banner is in no landmark ({which})"


def _rule(css: str, selector: str) -> str:
    found = re.search(rf"(?:^|[}}\s]){re.escape(selector)}\s*\{{([^}}]*)\}}", css)
    assert found, f"no rule for {selector}"
    return found.group(1)


def test_the_focus_indicator_has_3_to_1_contrast_on_the_card_and_the_page():
    colours = custom_properties(_page_css())
    # WCAG 2.2 (1.4.11): the ring against what is around it, the white card and the page.
    assert contrast(colours["--focus"], "#fff") >= 3
    assert contrast(colours["--focus"], colours["--bg"]) >= 3


def test_inputs_and_buttons_draw_the_checked_focus_colour_opaque():
    css = _page_css()
    # A translucent ring is what made the old one faint: the ring must be the colour itself.
    assert re.search(r"box-shadow:\s*0 0 0 3px var\(--focus\)", _rule(css, "input:focus")), \
        _rule(css, "input:focus")
    focus_visible = _rule(css, "button:focus-visible, a:focus-visible")
    assert re.search(r"outline:\s*3px solid var\(--focus\)", focus_visible), focus_visible


@pytest.mark.parametrize("number", ["4242", "4000 0000 0000 0002"])
def test_a_failed_payment_puts_the_alert_first_in_line_for_focus(app, number):
    html = app.test_client().post(page_path(open_session(app)),
                                  data={**CARD_FORM, "number": number}).get_data(as_text=True)
    alert = re.search(r'<div class="alert bad"[^>]*>', html)
    assert alert, html
    # No script may run here (the sandbox's CSP): autofocus on a box that takes focus does it.
    assert 'tabindex="-1"' in alert.group(0) and "autofocus" in alert.group(0)
    assert html.count("autofocus") == 1


def test_the_page_draws_no_emoji_a_machine_may_have_no_font_for(app):
    # The padlock was an emoji: a browser without a colour-emoji font drew an empty box.
    html = app.test_client().get(page_path(open_session(app))).get_data(as_text=True)
    outside = sorted({char for char in html if ord(char) > 0xFFFF})
    assert outside == [], outside
