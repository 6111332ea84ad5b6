"""URL converters: what an address may hold before a view, or the database, sees it."""

from flask import request
from werkzeug.routing import IntegerConverter

# Ids are INTEGER columns. PostgreSQL answers "integer out of range" to a comparison with a
# larger value, and SQLite's driver cannot bind one past 2^63 - 1: both would be a 500.
MAX_ID = 2**31 - 1


class IdIntegerConverter(IntegerConverter):
    """`<int:…>` that routes only ids an INTEGER column can hold (1 … 2^31 - 1)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def number_arg(name: str, default: int | None = None, *, most: int = MAX_ID) -> int | None:
    """The query string's `name` as a whole number from 1 to `most`, `default` when absent.

    None for anything else, for the caller to refuse: only ASCII digits, because str.isdigit
    also takes "²" and "①", which int() cannot read; never past `most`, because past an
    INTEGER column's range the database cannot even compare it.
    """
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(most)):
        return None
    value = int(raw)
    return value if 1 <= value <= most else None
