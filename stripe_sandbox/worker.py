"""The background thread that runs due work (expiry, refunds, webhook delivery) every tick."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Worker:
    """Start one daemon thread on first use and stop it on close."""

    def __init__(self, tick: Callable[[], object], interval: float) -> None:
        self.tick = tick
        self.interval = interval
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_running(self) -> None:
        """Start the thread unless it is already running in this process."""
        if self.thread is not None and self.thread.is_alive():
            return
        with self._lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self._stop.clear()
            self.thread = threading.Thread(target=self._run, name="sandbox-webhooks",
                                           daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the loop must outlive one bad tick; the log says what broke
                log.exception("sandbox background tick failed")

    def stop(self) -> None:
        """Stop the thread and wait for its current tick to end."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None
