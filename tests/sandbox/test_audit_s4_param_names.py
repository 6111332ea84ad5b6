r"""Audit s4: the sandbox's parameter-name pattern still ends in `$` (stripe_sandbox/params.py:12).

`_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")` is meant to match the whole name, but
Python's `$` also matches before a final line feed, and group 2 stops short of it: the name
"metadata[a]\n" is read as metadata[a], the line feed dropped without a word, while
"metadata[a]\nb" is refused as an invalid name. Two different names then write one key (the
later wins). The class d9d51b0 fixed in checkout/forms (ONE_LINE/TEXT/FORM_TOKEN end in \Z).
"""

from __future__ import annotations

import pytest

from stripe_sandbox.errors import StripeError
from stripe_sandbox.params import parse_pairs


def test_a_name_with_a_trailing_line_feed_is_refused_like_one_with_text_after_it() -> None:
    with pytest.raises(StripeError):
        parse_pairs([("metadata[a]\nb", "x")])  # guard: refused today
    with pytest.raises(StripeError):
        parse_pairs([("metadata[a]\n", "x")])


def test_two_different_names_never_write_one_key() -> None:
    try:
        parsed = parse_pairs([("metadata[a]\n", "x"), ("metadata[a]", "y")])
    except StripeError:
        return  # refused: also right
    assert parsed != {"metadata": {"a": "y"}}, "the first value was silently overwritten"
