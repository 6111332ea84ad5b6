"""Saved shipping addresses: each one a signed-in shopper ships to, the latest offered first."""

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from checkout.db import now_utc
from checkout.extensions import db
from checkout.models import Address


def remember(
    user_id: int, *, name: str, line1: str, line2: str, city: str, postal_code: str,
    country: str,
) -> None:
    """Save the address the shopper just shipped to, or mark a saved one used now (flush only).

    One INSERT that yields to the (user, fingerprint) constraint, like the outbox: two orders
    placed at once to the same address leave one row and fail neither order.
    """
    now = now_utc()
    fields = {"name": name, "line1": line1, "line2": line2, "city": city,
              "postal_code": postal_code, "country": country}
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else (
        sqlite.insert
    )
    statement = insert(Address).values(
        user_id=user_id,
        fingerprint=Address.fingerprint_of(*fields.values()),
        created_at=now,
        last_used_at=now,
        **fields,
    )
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "fingerprint"],
            # The spelling used last wins ("main st" after "Main St").
            set_={"last_used_at": now, **fields},
        )
    )


def addresses_of(user_id: int) -> list[Address]:
    """A shopper's saved addresses, the one used last first."""
    return list(
        db.session.scalars(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(Address.last_used_at.desc(), Address.id.desc())
        )
    )


def latest(user_id: int) -> Address | None:
    """The address the shopper shipped to last, if any."""
    saved = addresses_of(user_id)
    return saved[0] if saved else None


def forget(user_id: int, address_id: int) -> bool:
    """Delete one of the shopper's saved addresses; False if they have none with that id."""
    result = db.session.execute(
        delete(Address).where(Address.id == address_id, Address.user_id == user_id)
    )
    db.session.commit()
    return result.rowcount == 1
