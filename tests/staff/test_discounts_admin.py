"""Discount codes (admin): create, edit, deactivate, uses shown; refused as the CLI refuses."""

from decimal import Decimal

import pytest

from checkout.extensions import db
from checkout.models import DiscountCode, DiscountRedemption
from checkout.services import discounts
from tests.conftest import csrf_token
from tests.factories import OrderFactory, ProductFactory
from tests.staff.admin_support import assert_refused, catalog_state, detached
from tests.state import text_of

NEW = "/staff/discounts/new"


def _form(client, path=NEW, **overrides) -> dict:
    data = {"csrf_token": csrf_token(client, path), "code": "spring12", "kind": "percent",
            "percent_off": "12.5", "amount_off": "", "cap": "20.00", "min_subtotal": "50",
            "valid_from": "", "valid_until": "", "max_uses": "100", "max_uses_per_customer": ""}
    data.update(overrides)
    return data


def _code(app, code: str) -> DiscountCode:
    return detached(app, DiscountCode, DiscountCode.code == code)


def test_an_admin_creates_a_percentage_code_with_a_cap_and_limits(app, admin):
    response = admin.post(NEW, data=_form(admin, valid_until="2031-01-01T00:00"))
    assert response.status_code == 303, text_of(response)
    row = _code(app, "SPRING12")
    assert (row.percent_off, row.amount_off, row.cap, row.min_subtotal, row.max_uses) == (
        "12.5", None, 2000, 5000, 100)
    assert row.valid_until.isoformat() == "2031-01-01T00:00:00+00:00"
    listing = text_of(admin.get("/staff/discounts/"))
    assert "SPRING12" in listing and "12.5% off (at most $20.00)" in listing


def test_an_admin_creates_an_amount_off_code(app, admin):
    response = admin.post(NEW, data=_form(admin, code="FIVE", kind="amount", percent_off="",
                                          amount_off="5.00", cap="", min_subtotal=""))
    assert response.status_code == 303, text_of(response)
    row = _code(app, "FIVE")
    assert (row.percent_off, row.amount_off, row.min_subtotal) == (None, 500, 0)


@pytest.mark.parametrize("overrides,cli_args", [
    ({"percent_off": "150"}, ["--percent", "150"]),
    ({"percent_off": "12.555"}, ["--percent", "12.555"]),
    ({"code": "x"}, ["--percent", "10"]),
    ({"kind": "amount", "percent_off": "", "amount_off": "5", "cap": "3"},
     ["--amount", "500", "--cap", "300"]),
    ({"max_uses": "0"}, ["--percent", "10", "--max-uses", "0"]),
    ({"valid_from": "2031-01-02T00:00", "valid_until": "2031-01-01T00:00"},
     ["--percent", "10", "--valid-from", "2031-01-02", "--valid-until", "2031-01-01"]),
])
def test_the_form_refuses_what_the_cli_refuses_in_the_same_words(app, admin, overrides,
                                                                   cli_args):
    before = catalog_state(app)
    response = admin.post(NEW, data=_form(admin, **overrides))
    assert response.status_code == 422
    code = overrides.get("code", "spring12")
    result = app.test_cli_runner().invoke(args=["discounts", "create", code, *cli_args])
    assert result.exit_code != 0
    [cli_words] = [line.removeprefix("Error: ") for line in result.output.splitlines()
                   if line.startswith("Error: ")]
    assert f"The code was not saved: {cli_words}." in text_of(response)
    assert catalog_state(app) == before


@pytest.mark.parametrize("overrides,message", [
    ({"percent_off": "lots"}, "Enter a percentage like 10 or 12.5."),
    ({"percent_off": "NaN"}, "Enter a percentage like 10 or 12.5."),
    ({"kind": "amount", "percent_off": "", "amount_off": "5.001", "cap": ""},
     "USD amounts have 2 decimal places."),
    ({"kind": "amount", "percent_off": "", "amount_off": "", "cap": ""},
     "Enter an amount like 5.00."),
    ({"min_subtotal": "-3"}, "Enter an amount like 19.99."),
    ({"max_uses": "many"}, "Not a valid integer value."),
    ({"max_uses": "99999999999999"}, "Enter at most 1,000,000,000 uses."),
])
def test_numbers_that_are_not_numbers_get_the_form_again(app, admin, overrides, message):
    assert_refused(app, lambda: admin.post(NEW, data=_form(admin, **overrides)), message)


def test_a_code_that_exists_is_refused(app, admin):
    admin.post(NEW, data=_form(admin))
    assert_refused(app, lambda: admin.post(NEW, data=_form(admin, code="Spring12 ")),
                   "the code SPRING12 exists already")


def test_editing_changes_the_terms_and_so_the_provider_coupon(app, admin):
    admin.post(NEW, data=_form(admin))
    row = _code(app, "SPRING12")
    path = f"/staff/discounts/{row.id}"
    page = text_of(admin.get(path))
    assert 'value="12.5"' in page and 'value="20.00"' in page
    response = admin.post(path, data=_form(admin, path, code="SPRING12", percent_off="15"))
    assert response.status_code == 303, text_of(response)
    edited = _code(app, "SPRING12")
    assert edited.percent_off == "15"
    # The coupon is named by the terms: the next checkout publishes a new one, never reusing
    # the immutable coupon of the old terms.
    old = discounts.coupon_id("SPRING12", "USD", Decimal("12.5"), None)
    new = discounts.as_discount(edited, 10000, "USD").provider_coupon_id
    assert new != old and new == discounts.coupon_id("SPRING12", "USD", Decimal("15"), None)


def test_a_code_cannot_be_renamed_nor_its_limit_set_below_its_uses(app, admin):
    admin.post(NEW, data=_form(admin))
    row = _code(app, "SPRING12")
    with app.app_context():
        db.session.get(DiscountCode, row.id).uses = 3
        db.session.commit()
    path = f"/staff/discounts/{row.id}"
    before = catalog_state(app)
    renamed = admin.post(path, data=_form(admin, path, code="SUMMER"))
    assert renamed.status_code == 422
    assert "a code cannot be renamed" in text_of(renamed)
    lowered = admin.post(path, data=_form(admin, path, code="SPRING12", max_uses="2"))
    assert lowered.status_code == 422
    assert "max uses cannot be below the 3 uses already counted" in text_of(lowered)
    assert catalog_state(app) == before


def test_deactivating_and_reactivating_a_code(app, admin):
    admin.post(NEW, data=_form(admin))
    row = _code(app, "SPRING12")
    response = admin.post(f"/staff/discounts/{row.id}/deactivate",
                          data={"csrf_token": csrf_token(admin, "/staff/discounts/")})
    assert response.status_code == 303
    assert not _code(app, "SPRING12").active
    with app.app_context(), pytest.raises(Exception, match="no longer active"):
        discounts.check("SPRING12", 10000, "USD")
    admin.post(f"/staff/discounts/{row.id}/reactivate",
               data={"csrf_token": csrf_token(admin, "/staff/discounts/")})
    assert _code(app, "SPRING12").active


def test_a_deactivate_without_a_csrf_token_changes_nothing(app, admin):
    admin.post(NEW, data=_form(admin))
    row = _code(app, "SPRING12")
    response = admin.post(f"/staff/discounts/{row.id}/deactivate", data={})
    assert response.status_code == 400
    assert _code(app, "SPRING12").active


def test_the_uses_of_a_code_are_listed_with_order_email_and_time(app, admin):
    admin.post(NEW, data=_form(admin))
    row = _code(app, "SPRING12")
    with app.app_context():
        product = ProductFactory(sku="MUG")
        order = OrderFactory(items=[(product, 1)], email="ada@example.com")
        db.session.add(DiscountRedemption(discount_code_id=row.id, order_id=order.id,
                                          email="ada@example.com"))
        db.session.commit()
        number = order.number
    page = text_of(admin.get(f"/staff/discounts/{row.id}"))
    assert number in page and "ada@example.com" in page
    assert "No orders have used this code." not in page


def test_an_unknown_code_is_404(app, admin):
    assert admin.get("/staff/discounts/999").status_code == 404
