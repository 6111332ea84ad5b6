"""What an attacker types: hypothesis strategies for hostile values, forms, paths and queries.

Forms are read off the app itself: a probe request records every FlaskForm a view builds (with
its prefix), so a new form or a new field is fuzzed without anyone listing it here.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from urllib.parse import quote

from flask import Flask
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import Rule
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    Form,
    IntegerField,
    RadioField,
    SelectField,
)

CARD_NUMBERS = ("4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242")
XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)")
NASTY = (
    "\x00", "a\x00b", "\x1b[2J", "\r\n", "\t", "\x7f", "\u202e", "\ufeff", "\u2028",
    *XSS, "{{7*7}}", "' OR 1=1 --", "%s%n", "../../etc/passwd",
    "1e20", str(10**20), str(-(10**20)), "-1", "0", "1.5", "NaN", "nan", "inf", "-Infinity",
    "1e308", "0x10", " 1 ", "9" * 40, "x" * 10_000, "é" * 300, "", " ", "true", "null", "[]",
    *CARD_NUMBERS,
)
hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]),
            min_size=1, max_size=6),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(repr),
)
# Names a browser never sends, next to names the shop reads outside its forms.
EXTRA_NAMES = ("price", "total", "amount", "role", "is_staff", "user_id", "card_number",
               "cc-number", "t", "next", "session_id", "\x00", "x" * 300)
QUERY_NAMES = ("t", "page", "q", "status", "from", "to", "flagged", "sort", "session_id", "next",
               "payment", "outcome", "type")


def plausible(field) -> st.SearchStrategy[str]:
    """A value the field would accept, so the fuzzer also gets past validation."""
    if isinstance(field, SelectField | RadioField) and field.choices:
        choices = [str(c[0]) for c in field.choices if not isinstance(c[1], list | tuple)]
        if choices:
            return st.sampled_from(choices)
    if isinstance(field, IntegerField):
        return st.integers(-2, 120).map(str)
    if isinstance(field, BooleanField):
        return st.sampled_from(["y", "on", ""])
    if isinstance(field, DateTimeLocalField):
        return st.sampled_from(["2026-01-01T10:00", "9999-12-31T23:59", "0001-01-01T00:00"])
    if isinstance(field, DateField):
        return st.sampled_from(["2026-01-01", "9999-12-31", "0001-01-01"])
    name = field.short_name
    if "email" in name:
        return st.sampled_from(["someone@example.com", "SHOPPER@example.com",
                                "<b>x</b>@example.com"])
    if "token" in name:
        return st.sampled_from(["a" * 32, "A-b_" * 8])
    if name in ("amount", "price", "amount_off", "cap", "min_subtotal", "percent_off"):
        return st.sampled_from(["1.00", "0.01", "12.5", "100", "99999999.99"])
    return st.sampled_from(["Ada Lovelace", "12345", "US", "SAVE10", "note", "1"])


def file_upload() -> st.SearchStrategy:
    return st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"<svg onload=alert(1)>", b"GIF89a"]).map(
        lambda content: (BytesIO(content), "x.png"))


@contextmanager
def recording_forms() -> Iterator[list[Form]]:
    """Record every form built from request data while the block runs (the probe's request).

    WTForms' own Form is patched, so FlaskForms (which call it) and plain Forms such as the
    staff list's GET filter are both seen; a form built with formdata=None reads nothing.
    """
    built: list[Form] = []
    real_init = Form.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        if (args[0] if args else kwargs.get("formdata")) is not None:
            built.append(self)

    Form.__init__ = init
    try:
        yield built
    finally:
        Form.__init__ = real_init


def form_fields(forms: list[Form]) -> dict[str, object]:
    """Field name (prefix included) → field, of the forms a view read; no CSRF token."""
    return {f.name: f for form in forms for f in form if f.short_name != "csrf_token"}


def field_value(field) -> st.SearchStrategy:
    """One field's part of a body: absent, plausible, hostile, repeated, or a file."""
    one = st.one_of(plausible(field), hostile_text)
    return st.one_of(st.none(), plausible(field), hostile_text,
                     st.lists(one, min_size=2, max_size=3), file_upload())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | hostile_text,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["id", "type", "data", "object", "created", "metadata"])
                      | hostile_text, children, max_size=4),
    max_leaves=12,
)


def json_body(fields: dict[str, object]) -> st.SearchStrategy:
    """A JSON body where a form is expected: any value, or the form's names with any values."""
    names = st.sampled_from(sorted(fields) or ["x"])
    return st.one_of(json_values, st.dictionaries(names, json_values, max_size=6))


@st.composite
def form_body(draw, fields: dict[str, object], extra_names: tuple[str, ...]) -> MultiDict:
    """A POST body built from the view's form fields, plus names nobody asked for."""
    body = MultiDict()
    for name, field in fields.items():
        value = draw(field_value(field))
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            body.add(name, item)
    for name in draw(st.lists(st.sampled_from(EXTRA_NAMES + extra_names), max_size=3)):
        body.add(name, draw(hostile_text))
    return body


@st.composite
def query(draw, known: dict[str, str]) -> MultiDict:
    """A query string: the real values the page needs (a guest token) and hostile ones."""
    args = MultiDict()
    for name, value in known.items():
        if draw(st.booleans()):
            args.add(name, value)
    for name in draw(st.lists(st.sampled_from(QUERY_NAMES), max_size=3)):
        args.add(name, draw(st.one_of(hostile_text, st.sampled_from(list(known.values()) or [""]))))
    return args


PARAMETER = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


PATH_NASTY = ("0", "-1", "999999", "9" * 30, "abc", "%00", "..", "x" * 2000, "<script>",
              "ZZZZ-ZZZZ", "1.5", "%E2%80%AE", "CN-2026-999999", "evt_unknown")


@st.composite
def path_of(draw, rule: Rule, real: dict[str, str]) -> str:
    """The rule's path with each parameter either a value naming something real or junk."""
    def value_for(match: re.Match) -> str:
        name = match.group(1)
        if name in real and draw(st.integers(0, 2)) > 0:
            return quote(real[name], safe="")
        return draw(st.one_of(st.sampled_from(PATH_NASTY),
                              st.text(max_size=12).map(lambda s: quote(s, safe=""))))

    return PARAMETER.sub(value_for, rule.rule)


def real_path(rule: Rule, real: dict[str, str]) -> str:
    """The rule's path with every parameter naming something real."""
    return PARAMETER.sub(lambda m: quote(real[m.group(1)], safe=""), rule.rule)


def shop_rules(app: Flask) -> list[Rule]:
    """Every route of the shop (the static files and the webhook have tests of their own)."""
    return sorted((r for r in app.url_map.iter_rules()
                   if r.endpoint not in ("static", "webhooks.stripe_event")),
                  key=lambda r: r.rule)


def typical(field) -> str | None:
    """One value the field would accept (None: leave it out), for a body that would succeed."""
    if isinstance(field, SelectField | RadioField):
        choices = [str(c[0]) for c in field.choices or [] if str(c[0])]
        return choices[-1] if choices else None
    if isinstance(field, IntegerField):
        return "1"
    if isinstance(field, BooleanField):
        return "y"
    name = field.short_name
    if "email" in name:
        return "someone@example.com"
    if "token" in name:
        return "a" * 32
    if "password" in name or name == "confirm":
        return "a-long-enough-password"
    if name in ("amount", "price", "amount_off", "cap", "min_subtotal", "percent_off"):
        return "1.00"
    return "1" if name in ("quantity", "product_id") else "Hostile test"
