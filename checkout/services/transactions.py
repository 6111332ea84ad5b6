"""Run a unit of work again, once, when PostgreSQL picked it as a deadlock or serialization victim.

Stock rows are locked in one global order (see inventory.by_product), so two checkouts never
wait on each other in a circle. Locks taken implicitly (foreign-key checks, index pages) can
still meet in a cycle now and then; PostgreSQL then aborts one transaction with SQLSTATE 40P01
(or 40001 under a stricter isolation level) and says it is safe to run again. Doing so once
turns a rare 500 into a slightly slower answer; a second loss in a row is a real problem and
goes on to the caller.
"""

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from checkout.extensions import db

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# deadlock_detected, serialization_failure
RETRYABLE_STATES = frozenset({"40P01", "40001"})


def lost_a_conflict(exc: BaseException) -> bool:
    """Say whether the database aborted this work only to break a lock cycle."""
    return (
        isinstance(exc, DBAPIError)
        and getattr(exc.orig, "sqlstate", None) in RETRYABLE_STATES
    )


def retry_once_on_conflict(work: Callable[P, T]) -> Callable[P, T]:
    """Wrap a unit of work that owns its transaction: roll back and run it again once."""

    @functools.wraps(work)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return work(*args, **kwargs)
        except DBAPIError as exc:
            if not lost_a_conflict(exc):
                raise
            db.session.rollback()
            log.warning("%s lost a lock conflict (%s); running it once more",
                        work.__qualname__, exc.orig.sqlstate)
            return work(*args, **kwargs)

    return run
