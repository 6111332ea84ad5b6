"""Parts of pages rendered once and kept, looked up by the exact data they show.

Nothing is invalidated: the key is everything the part is made of (the rows it shows, the
shopper's own reminders in it, the static files' hashes, the mount point its links start at),
so a product whose price or stock changed is a new key and is rendered afresh. What a visitor
sees per request (the header, flashed messages, forms with their CSRF token) stays outside.
"""

from collections.abc import Hashable
from functools import lru_cache

from flask import Flask, current_app, render_template, request
from markupsafe import Markup

# Rendered parts kept per process: a catalog page is ~4 KB, so a few hundred is a few MB.
KEPT_PARTS = 256


def render_kept(template: str, **context: Hashable) -> Markup:
    """The template rendered with this context, from the kept parts when it was rendered before.

    Every context value must be hashable (a frozen dataclass, tuples of rows), and together
    they must hold all the template shows that can change, including what it asks of
    template globals (pass their answers for this request in the context, even if the
    template calls the global itself): two equal contexts give the same HTML. The debug
    server renders every time, so an edited template shows at once.
    """
    app = current_app._get_current_object()
    if app.debug:
        return Markup(render_template(template, **context))
    return app.extensions["kept_parts"](template, request.script_root,
                                        tuple(sorted(context.items())))


def _render(template: str, script_root: str,
            context: tuple[tuple[str, Hashable], ...]) -> Markup:
    # script_root is in the key only: links built under one mount point are not another's.
    return Markup(render_template(template, **dict(context)))


def init_fragments(app: Flask) -> None:
    """Give the app its own bounded store of rendered parts (tests build many apps)."""
    app.extensions["kept_parts"] = lru_cache(maxsize=KEPT_PARTS)(_render)
