"""Load, save, expand and page the JSON documents every resource is stored as."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Table, select, update

from stripe_sandbox.errors import StripeError
from stripe_sandbox.params import as_int, as_str, reject_unknown_nested
from stripe_sandbox.store import Store, dumps, objects

Document = dict[str, Any]


def load(conn: Connection, kind: str, object_id: Any, param: str) -> tuple[Document, Document]:
    """Return (body, sandbox-only extra) of one object, or raise Stripe's 404."""
    if not isinstance(object_id, str):
        raise StripeError.invalid("Invalid string", param=param)
    row = conn.execute(select(objects.c.body, objects.c.extra).where(
        objects.c.id == object_id, objects.c.kind == kind)).first()
    if row is None:
        raise StripeError.no_such(kind, object_id, param)
    return json.loads(row.body), json.loads(row.extra)


def save(conn: Connection, body: Document, extra: Document) -> None:
    """Store a changed object, keeping the filter columns in step with its body."""
    conn.execute(update(objects).where(objects.c.id == body["id"]).values(
        status=body.get("status"), payment_intent=(
            body.get("payment_intent") if body["object"] != "payment_intent" else None),
        body=dumps(body), extra=dumps(extra)))


def expand_ids(conn: Connection, body: Document, expand: list[str],
               fields: dict[str, str]) -> Document:
    """Replace the id fields named in `expand` by the objects they point to."""
    body = dict(body)
    for path in expand:
        if path not in fields:
            raise StripeError.invalid(f"This property cannot be expanded ({path}).",
                                      param="expand", code=None)
        if body[path]:
            body[path], _ = load(conn, fields[path], body[path], path)
    return body


def limit_of(params: dict[str, Any]) -> int:
    """Read a list call's `limit` (1 to 100, default 10)."""
    if params.get("limit") in (None, ""):
        return 10
    return as_int(params["limit"], "limit", minimum=1, maximum=100)


def created_filter(column: Any, created: Any) -> list[Any]:
    """Turn `created` (an integer or a gt/gte/lt/lte hash) into SQL conditions."""
    if created in (None, ""):
        return []
    if not isinstance(created, dict):
        return [column == as_int(created, "created")]
    ops = {"gt": column.__gt__, "gte": column.__ge__, "lt": column.__lt__,
           "lte": column.__le__}
    reject_unknown_nested(created, ops, "created")
    return [ops[op](as_int(value, f"created[{op}]")) for op, value in created.items()]


def page(store: Store, table: Table, where: list[Any], params: dict[str, Any], url: str,
         object_name: str) -> Document:
    """Return one page of a Stripe list, newest first, with its cursors honoured."""
    limit = limit_of(params)
    with store.read() as conn:
        query = select(table.c.body).where(*where)
        for cursor_param in ("starting_after", "ending_before"):
            cursor = params.get(cursor_param)
            if cursor:
                cursor = as_str(cursor, cursor_param)
                seq = conn.execute(select(table.c.seq).where(table.c.id == cursor)).scalar()
                if seq is None:
                    raise StripeError.no_such(object_name, cursor, cursor_param)
                before = cursor_param == "starting_after"
                query = query.where(table.c.seq < seq if before else table.c.seq > seq)
        if params.get("ending_before") and not params.get("starting_after"):
            rows = conn.execute(query.order_by(table.c.seq).limit(limit + 1)).all()
            has_more = len(rows) > limit
            rows = list(reversed(rows[:limit]))
        else:
            rows = conn.execute(query.order_by(table.c.seq.desc()).limit(limit + 1)).all()
            has_more = len(rows) > limit
            rows = rows[:limit]
    return {"object": "list", "data": [json.loads(row.body) for row in rows],
            "has_more": has_more, "url": url}
