"""The sandbox clock: the wall clock plus an offset every process sharing the store sees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from stripe_sandbox.context import Context

# The most the clock and endpoint-down controls take at once; more is a typo, and beyond 64 bits
# it would break every later query.
MAX_CONTROL_SECONDS = 10 * 365 * 24 * 60 * 60


def now(ctx: Context, conn: Connection) -> int:
    """Return the sandbox's unix time inside an open transaction."""
    return int(ctx.wall()) + int(ctx.store.get_state(conn, "clock_offset", "0"))


def advance(ctx: Context, seconds: int) -> None:
    """Move the clock forward by `seconds` for every process sharing the store."""
    seconds = control_seconds(seconds)
    with ctx.store.write() as conn:
        offset = int(ctx.store.get_state(conn, "clock_offset", "0")) + seconds
        ctx.store.set_state(conn, "clock_offset", str(offset))


def reset(ctx: Context) -> None:
    """Put the clock back on the wall clock."""
    with ctx.store.write() as conn:
        ctx.store.set_state(conn, "clock_offset", "0")


def control_seconds(seconds: Any) -> int:
    """Check a control's `seconds`: a whole number from 0 to MAX_CONTROL_SECONDS (10 years)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"seconds must be a whole number, not {seconds!r}")
    if not 0 <= seconds <= MAX_CONTROL_SECONDS:
        raise ValueError(f"seconds must be between 0 and {MAX_CONTROL_SECONDS} (10 years); "
                         "the sandbox clock only moves forward")
    return seconds
