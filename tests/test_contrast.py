"""Issue 10, finding 4: the focus ring has at least 3:1 contrast (WCAG 2.2, 1.4.11) against
every background the shop's stylesheet paints, computed from the stylesheet itself."""

import re
from pathlib import Path

import pytest

from tests.contrast_support import contrast, custom_properties

CSS = (Path(__file__).resolve().parent.parent / "static" / "css" / "shop.css").read_text()
COLOURS = custom_properties(CSS)
# The fills of buttons themselves: their ring is drawn outside them, on what is behind.
BUTTON_FILLS = {"var(--accent)", "#255a41", "var(--bad)", "#8a1f24", "none"}


def _resolve(value: str) -> str:
    name = re.fullmatch(r"var\((--[\w-]+)\)", value)
    return COLOURS[name.group(1)] if name else value


# Every surface the stylesheet paints (page, cards, tables, flash panels, badges, hover
# states): a focused element can sit on any of them.
BACKGROUNDS = sorted({
    _resolve(value.strip())
    for value in re.findall(r"background(?:-color)?\s*:\s*([^;}]+)", CSS)
    if value.strip() not in BUTTON_FILLS
})


def test_the_contrast_formula_matches_the_issues_figures():
    # The figures the issue measured with a browser's tools.
    assert contrast("#9cc8b0", "#fbfaf7") == pytest.approx(1.8, abs=0.05)
    assert contrast("#df1b41", "#fff0f2") == pytest.approx(4.34, abs=0.01)
    assert contrast("#000", "#fff") == pytest.approx(21)


def test_the_surfaces_were_found():
    assert {COLOURS["--bg"], COLOURS["--card"], COLOURS["--bad-soft"]} <= set(BACKGROUNDS)


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_the_focus_ring_stands_out_on_every_background(background):
    assert contrast(COLOURS["--focus"], background) >= 3, (
        f"--focus {COLOURS['--focus']} on {background}")


def test_every_focus_outline_is_drawn_in_the_ring_colour():
    outlines = re.findall(r"([^{}]*:focus[^{}]*)\{([^}]*outline[^}]*)\}", CSS)
    assert outlines, "no focus style in the stylesheet"
    for selector, rules in outlines:
        for colour in re.findall(r"outline(?:-color)?\s*:\s*([^;]+)", rules):
            if colour.strip() in ("none", "0"):
                continue
            assert "var(--focus)" in colour, f"{selector.strip()}: outline {colour}"



def test_the_danger_buttons_label_reads_on_its_fill_and_its_hover():
    # axe-core found the staff "Cancel order" button's label (the plain button's ink) at 2:1.
    rules = dict(re.findall(r"\n(\.button-danger(?::hover)?)\s*\{([^}]*)\}", CSS))
    ink = re.search(r"(?<!-)color\s*:\s*([^;]+)", rules[".button-danger"]).group(1).strip()
    for selector, body in rules.items():
        fill = re.search(r"background\s*:\s*([^;]+)", body).group(1).strip()
        assert contrast(ink, _resolve(fill)) >= 4.5, f"{selector}: {ink} on {fill}"
