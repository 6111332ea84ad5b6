"""Text on the stylesheet's filled buttons and badges reads at AA contrast (4.5:1), computed
from the stylesheet itself: the staff order page's "Cancel order" once drew the page's dark ink
on the dark red `--bad` fill (about 1.6:1), which axe-core found in a real browser."""

import re
from pathlib import Path

import pytest

from tests.contrast_support import contrast, custom_properties

# Comments dropped: one before a rule would read as part of its selector.
CSS = re.sub(r"/\*.*?\*/", "", (
    Path(__file__).resolve().parent.parent / "static" / "css" / "shop.css").read_text(), flags=re.S)
COLOURS = custom_properties(CSS)
# What text is drawn in when a rule does not say: the page's ink.
DEFAULT_INK = COLOURS["--ink"]


def _resolve(value: str) -> str:
    name = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return COLOURS[name.group(1)] if name else value.strip()


def _filled_rules() -> list[tuple[str, str, str]]:
    """(selector, fill, text colour) of each button or badge rule that paints a fill."""
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", CSS):
        selector = selector.strip()
        if not re.search(r"\.(button|badge)", selector) or ":hover" in selector:
            continue
        fill = re.search(r"background(?:-color)?\s*:\s*([^;]+)", body)
        if not fill or _resolve(fill.group(1)) in {"#fff", "none"}:
            continue
        ink = re.search(r"(?<![-\w])color\s*:\s*([^;]+)", body)
        found.append((selector, _resolve(fill.group(1)),
                      _resolve(ink.group(1)) if ink else DEFAULT_INK))
    return found


def test_the_danger_button_is_among_the_filled_rules():
    assert ".button-danger" in [selector for selector, _, _ in _filled_rules()]


@pytest.mark.parametrize(("selector", "fill", "ink"), _filled_rules())
def test_text_on_a_filled_button_reads_at_aa_contrast(selector, fill, ink):
    assert contrast(ink, fill) >= 4.5, f"{selector}: {ink} on {fill}"
