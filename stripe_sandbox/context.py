"""What every resource module needs from the running sandbox: its store, URL, endpoints, clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from stripe_sandbox.store import Store


@dataclass
class Context:
    """The sandbox's shared state, handed to each resource function."""

    store: Store
    # Where the sandbox is reached from outside: the hosted page's links start here.
    public_url: str
    endpoints: list[str] = field(default_factory=list)
    # The wall clock the sandbox clock is offset from; tests may hand in their own.
    wall: Callable[[], float] = time.time
