"""WCAG 2.2 contrast, computed from the colours a stylesheet declares as custom properties."""

import re

CUSTOM_PROPERTY = re.compile(r"(--[\w-]+)\s*:\s*([^;}]+)")


def custom_properties(css: str) -> dict[str, str]:
    """Every `--name: value` in the stylesheet's :root block, values stripped."""
    root = re.search(r":root\s*\{(.*?)\}", css, re.S)
    assert root, "no :root block in the stylesheet"
    return {name: value.strip() for name, value in CUSTOM_PROPERTY.findall(root.group(1))}


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of a #rgb or #rrggbb colour, as WCAG defines it."""
    hex_digits = colour.strip().lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(d * 2 for d in hex_digits)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", hex_digits), f"not an opaque hex colour: {colour}"
    r, g, b = (int(hex_digits[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
