"""The job queue (Huey) and its tasks: each task is thin and calls one service.

Each app gets its own queue, configured from its settings: an SQLite file in instance/ by
default (one machine, no extra server), Redis with REDIS_URL (several machines). `flask worker`
runs the consumer: the queued tasks and the periodic jobs. Every task runs in a fresh app
context, so it has a database session of its own even when it runs at once in the caller
(JOBS_IMMEDIATE, for tests), and every job is safe with several workers at once (row locks,
SKIP LOCKED on PostgreSQL, claims with leases for the outbox).
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import ConfigurationError

from checkout.services import (
    accounts,
    notifications,
    order_links,
    reconciliation,
    reminders,
    upkeep,
)

log = logging.getLogger(__name__)

QUEUE_NAME = "checkout"


def make_queue(config: dict) -> Huey:
    """The Huey instance the settings ask for."""
    # Tasks report through the database, not through Huey's result store: nobody reads
    # results, and kept ones would pile up in the store.
    options = {"immediate": bool(config.get("JOBS_IMMEDIATE")), "results": False}
    if config.get("REDIS_URL"):
        return RedisHuey(QUEUE_NAME, url=config["REDIS_URL"], **options)
    path = Path(config["HUEY_DATABASE"])
    if not options["immediate"]:
        path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path), **options)


def every_minutes(minutes: int) -> Callable[[datetime], bool]:
    """A periodic schedule: due when the minutes since the epoch are a multiple of `minutes`.

    Unlike crontab's */N, which restarts every hour (or day), any interval keeps its step.
    """

    def due(moment: datetime) -> bool:
        # Huey passes its clock's time as naive UTC; an aware one is read as what it says.
        aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return int(aware.timestamp() // 60) % minutes == 0

    return due


def init_jobs(app: Flask) -> Huey:
    """Give the app its queue and tasks, send the outbox after each commit that fills it."""
    huey = make_queue(app.config)

    def in_app(service: Callable[[], int]) -> int:
        with app.app_context():
            return service()

    @huey.task(name="deliver_outbox")
    def deliver_outbox() -> int:
        """Send the outbox's due messages."""
        return in_app(notifications.deliver_due)

    @huey.periodic_task(crontab(minute="*"), name="retry_outbox")
    def retry_outbox() -> int:
        """Send what failed before and is due again (or was missed by a crash)."""
        return in_app(notifications.deliver_due)

    @huey.periodic_task(crontab(minute="*"), name="expire_lapsed_holds")
    def expire_lapsed_holds() -> int:
        """Expire unpaid orders whose hold lapsed."""
        return in_app(upkeep.expire_lapsed_holds)

    @huey.periodic_task(crontab(minute="*"), name="send_payment_reminders")
    def send_payment_reminders() -> int:
        """Remind shoppers whose unpaid order's hold lapses soon."""
        return in_app(reminders.send_payment_reminders)

    @huey.periodic_task(crontab(minute="*"), name="send_unsent_refunds")
    def send_unsent_refunds() -> int:
        """Send refunds the provider could not take when they were asked for."""
        return in_app(upkeep.send_unsent_refunds)

    @huey.periodic_task(
        every_minutes(app.config["RECONCILE_INTERVAL_MINUTES"]), name="reconcile_recent"
    )
    def reconcile_recent() -> int:
        """Apply Stripe events that never arrived; store what still needs a person."""
        return in_app(reconciliation.reconcile_recent)

    @huey.task(name="request_password_reset")
    def request_password_reset(email: str) -> int:
        """Mail a reset link to the account with this e-mail, if there is one."""
        return in_app(lambda: int(accounts.request_password_reset(email)))

    @huey.task(name="request_order_link")
    def request_order_link(number: str, email: str) -> int:
        """Mail a fresh order link to the order's address, if `email` is that address."""
        return in_app(lambda: int(order_links.send_new_link(number, email)))

    def on_messages_committed(sender: Flask) -> None:
        try:
            deliver_outbox()
        except Exception:
            # The messages are committed: the periodic retry sends them; the request that
            # wrote them must not fail because the queue is unreachable.
            log.exception("could not queue the outbox delivery")

    notifications.messages_committed.connect(on_messages_committed, sender=app, weak=False)
    app.extensions["huey"] = huey
    app.extensions["jobs"] = {
        task.name: task
        for task in (
            deliver_outbox, retry_outbox, expire_lapsed_holds, send_unsent_refunds,
            send_payment_reminders, reconcile_recent, request_password_reset,
            request_order_link,
        )
    }
    app.cli.add_command(worker)
    return huey


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@with_appcontext
def worker(workers: int) -> None:
    """Run the job consumer: queued tasks and the periodic jobs, until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    huey: Huey = current_app.extensions["huey"]
    try:
        consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
        consumer.run()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
