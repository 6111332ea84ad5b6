"""Periodic upkeep inside the app process: no extra server needed for a one-machine shop.

Each process runs one daemon thread, started on its first request (never at import or start-up).
The jobs are idempotent and take row locks, so several gunicorn workers may run them at once.
"""

import logging
import threading

from flask import Flask

from checkout.extensions import db
from checkout.services import upkeep

log = logging.getLogger(__name__)


class PeriodicJobs:
    """Run the shop's periodic jobs every `interval` seconds in a background thread."""

    def __init__(self, app: Flask, interval: float):
        self.app = app
        self.interval = interval
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        """Start the thread once per process."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="checkout-periodic-jobs", daemon=True
                )
                self._thread.start()

    def run_once(self) -> int:
        """Expire unpaid orders whose stock hold lapsed, send waiting refunds; return expired."""
        with self.app.app_context():
            try:
                upkeep.send_unsent_refunds()
                return upkeep.expire_lapsed_holds()
            finally:
                db.session.remove()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                expired = self.run_once()
                if expired:
                    log.info("expired %d orders whose hold lapsed", expired)
            except Exception:  # noqa: BLE001 - keep the loop alive; the next tick retries
                log.exception("periodic jobs failed")


def init_background(app: Flask) -> None:
    """Start the periodic jobs on the first request, unless BACKGROUND_JOBS is off."""
    if not app.config.get("BACKGROUND_JOBS", True):
        return
    jobs = PeriodicJobs(app, float(app.config.get("HOLD_SWEEP_SECONDS", 60)))
    app.extensions["periodic_jobs"] = jobs
    app.before_request(jobs.ensure_started)
