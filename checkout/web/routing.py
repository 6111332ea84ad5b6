"""URL converters: what an address may hold before a view, or the database, sees it."""

from werkzeug.routing import IntegerConverter

# Ids are INTEGER columns. PostgreSQL answers "integer out of range" to a comparison with a
# larger value, and SQLite's driver cannot bind one past 2^63 - 1: both would be a 500.
MAX_ID = 2**31 - 1


class IdIntegerConverter(IntegerConverter):
    """`<int:…>` that routes only ids an INTEGER column can hold (1 … 2^31 - 1)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
