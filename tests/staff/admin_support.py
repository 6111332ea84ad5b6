"""Helpers for the admin back-office tests: images made on the spot, and what the catalog holds."""

import io
import struct
import threading
import zlib
from collections.abc import Callable

from flask import Flask
from PIL import Image
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import DiscountCode, Product, StockMovement, User
from tests.state import snapshot, text_of


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (40, 30), noise: bool = False) -> bytes:
    picture = Image.new("RGB", size, (200, 120, 40))
    if noise:
        pixels = bytes((i * 7919) % 251 for i in range(size[0] * size[1] * 3))
        picture = Image.frombytes("RGB", size, pixels)
    out = io.BytesIO()
    picture.save(out, format=kind)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims a huge picture (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def catalog_state(app: Flask) -> dict:
    """The shop's state plus what an admin page could write: products, ledger, codes, staff."""
    state = snapshot(app)
    with app.app_context():
        state["products"] = sorted(
            (p.sku, p.slug, p.title, p.price, p.image, p.is_active, p.description)
            for p in db.session.scalars(select(Product))
        )
        state["ledger"] = sorted(
            (m.product_id, m.delta, m.reason, m.note, m.user_id)
            for m in db.session.scalars(select(StockMovement))
        )
        state["codes"] = sorted(
            (c.code, c.percent_off, c.amount_off, c.cap, c.min_subtotal, c.max_uses, c.active)
            for c in db.session.scalars(select(DiscountCode))
        )
        state["users"] = sorted((u.email, u.role, u.active, u.password_hash)
                                for u in db.session.scalars(select(User)))
        db.session.remove()
    return state


def race(app: Flask, refusals: tuple[type[Exception], ...], jobs: list[Callable[[], None]]
         ) -> list[str]:
    """Run every job at once, each in its own thread and app context; return unexpected errors.

    A job that raises one of `refusals` lost the race fairly; anything else is reported.
    """
    start = threading.Barrier(len(jobs))
    errors = []

    def run(job) -> None:
        with app.app_context():
            try:
                # Wait before touching the database: on SQLite a transaction holds the write
                # lock from its first statement.
                start.wait()
                job()
            except refusals:
                pass
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def assert_refused(app: Flask, send: Callable, message: str, status: int = 422) -> None:
    """Send a request that must be refused with `message`, and prove it changed nothing."""
    before = catalog_state(app)
    response = send()
    assert response.status_code == status, text_of(response)
    assert message in text_of(response)
    assert catalog_state(app) == before


def detached(app: Flask, model, *where):
    """The one row of `model` matching `where`, readable after its session is gone."""
    with app.app_context():
        row = db.session.scalar(select(model).where(*where))
        db.session.expunge_all()
        return row
