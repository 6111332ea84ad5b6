"""Command-line tasks: `flask --app wsgi seed-demo`, `users create-staff`, `expire-holds`."""

import secrets

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from checkout.domain.errors import InvalidPassword
from checkout.services import upkeep
from checkout.services.accounts import create_staff
from checkout.services.demo import load_demo_catalog


def init_cli(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(users)
    app.cli.add_command(expire_holds)


@click.command("seed-demo")
@with_appcontext
@click.option("--staff-email", default="staff@example.com", show_default=True)
@click.option("--staff-password", envvar="DEMO_STAFF_PASSWORD", default=None,
              help="Default: a new random password, printed.")
def seed_demo(staff_email: str, staff_password: str | None) -> None:
    """Load the demo catalog (idempotent) and print a staff login."""
    password = staff_password or secrets.token_urlsafe(12)
    try:
        create_staff(staff_email, password)
    except InvalidPassword as exc:
        raise click.BadParameter(str(exc), param_hint="--staff-password") from None
    created = load_demo_catalog()
    click.echo(f"Demo catalog: {created} products added (existing ones left as they are).")
    click.echo(f"Staff login: {staff_email} / {password}")


users = AppGroup("users", help="Manage accounts.")


@users.command("create-staff")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_staff_command(email: str, password: str) -> None:
    """Create a staff account (or promote an existing one) with this password."""
    if "@" not in email or len(email) > 254:
        raise click.BadParameter("not an email address", param_hint="EMAIL")
    try:
        user = create_staff(email, password)
    except InvalidPassword as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from None
    click.echo(f"Staff account ready: {user.email}")


@click.command("expire-holds")
@with_appcontext
def expire_holds() -> None:
    """Expire unpaid orders whose stock hold lapsed, releasing the stock."""
    click.echo(f"Expired {upkeep.expire_lapsed_holds()} orders.")


