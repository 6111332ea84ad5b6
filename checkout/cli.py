"""Command-line tasks: `flask --app wsgi seed-demo`, `users create-staff`, `expire-holds`,
`reconcile`."""

import secrets
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from checkout.db import now_utc
from checkout.domain.errors import InvalidPassword
from checkout.domain.reconciliation import parse_since
from checkout.models.user import Role
from checkout.services import discounts, reconciliation, upkeep
from checkout.services.accounts import create_staff
from checkout.services.demo import load_demo_catalog, load_demo_pricing


def init_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(users)
    app.cli.add_command(expire_holds)
    app.cli.add_command(discounts_group)
    app.cli.add_command(reconcile)


@click.command("seed-demo")
@with_appcontext
@click.option("--staff-email", default="staff@example.com", show_default=True)
@click.option("--staff-password", envvar="DEMO_STAFF_PASSWORD", default=None,
              help="Default: a new random password, printed.")
def seed_demo(staff_email: str, staff_password: str | None) -> None:
    """Load the demo catalog (idempotent) and print an admin login."""
    password = staff_password or secrets.token_urlsafe(12)
    try:
        create_staff(staff_email, password, admin=True)
    except InvalidPassword as exc:
        raise click.BadParameter(str(exc), param_hint="--staff-password") from None
    created = load_demo_catalog()
    click.echo(f"Demo catalog: {created} products added (existing ones left as they are).")
    for what in load_demo_pricing(current_app.config["PRICES_INCLUDE_TAX"]):
        click.echo(f"Added {what}.")
    click.echo(f"Staff login (admin): {staff_email} / {password}")


users = AppGroup("users", help="Manage accounts.")


@users.command("create-staff")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Also refunds, products, discounts and staff accounts.")
def create_staff_command(email: str, password: str, admin: bool) -> None:
    """Create a staff account (or promote an existing one) with this password."""
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    try:
        user = create_staff(email, password, admin=admin)
    except InvalidPassword as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    click.echo(f"Staff account ready: {user.email} ({Role(user.role).value})")


@click.command("expire-holds")
@with_appcontext
def expire_holds() -> None:
    """Expire unpaid orders whose stock hold lapsed, releasing the stock."""
    click.echo(f"Expired {upkeep.expire_lapsed_holds()} orders.")


T = TypeVar("T")


def progress_bar(items: Iterable[T], what: str, total: int | None) -> Iterable[T]:
    """Show a progress bar on stderr for a step that runs over a second (only on a terminal)."""
    from tqdm import tqdm  # here, not at the top: web workers import this module, never a bar

    return tqdm(items, desc=what, total=total, unit="", delay=1, leave=False,
                disable=None, file=sys.stderr)


@click.command("reconcile")
@click.option("--since", metavar="WHEN",
              help="ISO 8601 date or time (UTC if no offset) or a duration back from now: "
                   "90m, 12h, 3d, 2w. Default: RECONCILE_WINDOW_DAYS days.")
@with_appcontext
def reconcile(since: str | None) -> None:
    """Apply Stripe events that never arrived; report what needs a person (exit code 1)."""
    now = now_utc()
    try:
        moment = parse_since(since, now) if since else now - timedelta(
            days=current_app.config["RECONCILE_WINDOW_DAYS"])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    run = reconciliation.reconcile(moment, trigger="cli", progress=progress_bar)
    click.echo(f"Compared {run.events_seen} events, {run.sessions_seen} Checkout Sessions and "
               f"{run.refunds_seen} refunds since {moment:%Y-%m-%d %H:%M} UTC.")
    fixes, issues = run.fixes, run.issues
    click.echo(f"Fixed {len(fixes)}:" if fixes else "Nothing to fix.")
    for fix in fixes:
        click.echo(f"  {fix.what} {fix.stripe_id}: {fix.outcome}"
                   + (f" (order {fix.order_number})" if fix.order_number else ""))
    if not issues:
        click.echo("Everything matches.")
        return
    click.echo(f"Needs a person ({len(issues)}):", err=True)
    for issue in issues:
        click.echo(f"  {issue.kind.label}: {issue.detail}", err=True)
    sys.exit(1)




discounts_group = AppGroup("discounts", help="Discount codes.")


def _when(value: str | None) -> datetime | None:
    """An ISO 8601 time; one without an offset is read as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _percent(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number", param_hint="--percent") from None


@discounts_group.command("create")
@click.argument("code")
@click.option("--percent", help="Percentage off the items, e.g. 10 or 12.5.")
@click.option("--amount", type=int, help="Amount off the items, in minor units (500 = $5.00).")
@click.option("--cap", type=int, help="Most a percentage may take off, in minor units.")
@click.option("--min-subtotal", type=int, default=0, help="Smallest items' subtotal, minor units.")
@click.option("--valid-from", help="ISO 8601; without an offset, UTC.")
@click.option("--valid-until", help="ISO 8601; without an offset, UTC.")
@click.option("--max-uses", type=int, help="Uses in all (default: unlimited).")
@click.option("--max-uses-per-customer", type=int, help="Uses per e-mail address.")
def create_discount(code, percent, amount, cap, min_subtotal, valid_from, valid_until, max_uses,
                    max_uses_per_customer) -> None:
    """Create a discount code: --percent or --amount, and any limits."""
    terms = discounts.DiscountTerms(
        code=code, percent_off=_percent(percent), amount_off=amount, cap=cap,
        min_subtotal=min_subtotal, valid_from=_when(valid_from), valid_until=_when(valid_until),
        max_uses=max_uses, max_uses_per_customer=max_uses_per_customer,
    )
    try:
        row = discounts.create(terms)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Discount code {row.code} created.")


@discounts_group.command("deactivate")
@click.argument("code")
def deactivate_discount(code: str) -> None:
    """Stop a code from being applied (orders placed with it keep their price)."""
    try:
        row = discounts.deactivate(code)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"Discount code {row.code} deactivated.")
