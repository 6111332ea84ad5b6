"""On a phone the cart's table head is hidden: each cell then names its column itself."""

import re
from pathlib import Path

from tests.shop import add_to_cart

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "shop.css"


def test_each_cart_cell_carries_its_column_label(client, products):
    assert add_to_cart(client, products["MUG"], 2).status_code == 303
    page = client.get("/cart/").get_data(as_text=True)
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', page)
    assert headings == ["Item", "Price", "Quantity", "Total"]
    [row] = re.findall(r"<tbody>(.*?)</tbody>", page, re.S)
    labels = re.findall(r'<td[^>]*data-label="([^"]+)"', row)
    assert labels == ["Item", "Price", "Quantity", "Total"]


def test_narrow_screens_show_the_labels_the_hidden_head_no_longer_does():
    css = CSS.read_text()
    narrow = css.split("@media (max-width: 760px) {", 1)[1].split("\n}", 1)[0]
    assert ".lines thead { display: none; }" in narrow
    assert re.search(r"\.lines td\[data-label\]::before \{[^}]*content: attr\(data-label\)", narrow)
