"""`flask sandbox …`: the controls from a terminal, standalone or in the app that mounts it."""

from __future__ import annotations

import json
import time

import click
from flask import current_app
from flask.cli import AppGroup

from stripe_sandbox.clock import MAX_CONTROL_SECONDS
from stripe_sandbox.errors import StripeError
from stripe_sandbox.sandbox import Sandbox

sandbox_cli = AppGroup("sandbox", help="Drive the Stripe-compatible payment sandbox.")
SECONDS = click.IntRange(0, MAX_CONTROL_SECONDS)


def _sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


def _echo(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


@sandbox_cli.command("deliver")
def deliver() -> None:
    """Deliver every due webhook (and due retry) now."""
    for result in _sandbox().deliver_pending():
        mark = "ok " if result.ok else "ERR"
        click.echo(f"{mark} {result.event_type} {result.event_id} -> {result.url} "
                   f"[{result.status_code}] attempt {result.attempt} {result.error or ''}")


@sandbox_cli.command("now")
def now() -> None:
    """Print the sandbox clock (unix time)."""
    click.echo(_sandbox().now())


@sandbox_cli.command("advance-clock")
@click.argument("seconds", type=SECONDS)
def advance_clock(seconds: int) -> None:
    """Move the sandbox clock forward, expiring sessions that are now due."""
    click.echo(_sandbox().advance_clock(seconds))


@sandbox_cli.command("reset-clock")
def reset_clock() -> None:
    """Put the sandbox clock back on the wall clock."""
    click.echo(_sandbox().reset_clock())


@sandbox_cli.command("pay")
@click.argument("session_id")
@click.option("--card", default="4242424242424242", show_default=True)
@click.option("--name", default="Test Shopper", show_default=True)
@click.option("--bank-debit", is_flag=True, help="Pay by bank debit (settles later).")
@click.option("--three-d-secure", type=click.Choice(["complete", "fail"]), default=None,
              help="How to answer a 3-D Secure challenge card's challenge.")
def pay(session_id: str, card: str, name: str, bank_debit: bool,
        three_d_secure: str | None) -> None:
    """Pay a Checkout Session as the hosted page would."""
    result = _sandbox().pay(session_id, card, name,
                            method="bank_debit" if bank_debit else "card",
                            three_d_secure=three_d_secure)  # type: ignore[arg-type]
    _echo({"outcome": result.outcome, "message": result.message,
           "field_errors": result.field_errors, "redirect_url": result.redirect_url})


@sandbox_cli.command("settle")
@click.argument("target")
@click.option("--failed", is_flag=True, help="Settle as failed instead of succeeded.")
def settle(target: str, failed: bool) -> None:
    """Settle a bank-debit payment (session or PaymentIntent id)."""
    try:
        session = _sandbox().settle_async(target, succeeded=not failed)
    except StripeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{session['id']} payment_status={session['payment_status']}")


@sandbox_cli.command("dashboard-refund")
@click.argument("target")
@click.option("--amount", type=click.IntRange(min=1), default=None,
              help="Minor units to refund (default: all that is left).")
def dashboard_refund(target: str, amount: int | None) -> None:
    """Refund a PaymentIntent or charge as from the Stripe Dashboard."""
    try:
        refund = _sandbox().dashboard_refund(target, amount)
    except StripeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{refund['id']} {refund['status']} {refund['amount']} {refund['currency']}")


@sandbox_cli.command("dispute")
@click.argument("target")
def dispute(target: str) -> None:
    """Open a fraudulent dispute on a succeeded charge or PaymentIntent."""
    try:
        opened = _sandbox().open_dispute(target)
    except StripeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{opened['id']} {opened['status']} {opened['reason']} {opened['charge']}")


@sandbox_cli.command("endpoint-down")
@click.argument("seconds", type=SECONDS)
def endpoint_down(seconds: int) -> None:
    """Make webhook endpoints answer 503 for SECONDS of sandbox time."""
    click.echo(f"down until {_sandbox().set_endpoint_down(seconds)}")


@sandbox_cli.command("resend")
@click.argument("event_id")
def resend(event_id: str) -> None:
    """Queue an event for delivery again."""
    try:
        _sandbox().resend(event_id)
    except StripeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"queued {event_id}")


@sandbox_cli.command("events")
@click.option("--type", "type_", default=None, help="Only events of this type.")
def list_events(type_: str | None) -> None:
    """List events, oldest first."""
    for event in _sandbox().events(type_):
        click.echo(f"{event['id']} {event['created']} {event['type']} "
                   f"{event['data']['object']['id']} pending={event['pending_webhooks']}")


@sandbox_cli.command("attempts")
@click.option("--event", "event_id", default=None)
def list_attempts(event_id: str | None) -> None:
    """Show the webhook delivery attempt log."""
    for a in _sandbox().delivery_attempts(event_id):
        click.echo(f"{a.sandbox_time} {a.event_type} {a.event_id} attempt {a.attempt} -> "
                   f"{a.url} [{a.status_code}] {a.duration_ms} ms {a.error or ''}")


@sandbox_cli.command("worker")
def worker() -> None:
    """Run the delivery loop in the foreground (Ctrl-C stops it)."""
    sandbox = _sandbox()
    click.echo("delivering sandbox webhooks every second; Ctrl-C to stop")
    while True:
        for result in sandbox.deliver_pending():
            click.echo(f"{'ok ' if result.ok else 'ERR'} {result.event_type} -> "
                       f"[{result.status_code}] {result.error or ''}")
        time.sleep(1)
