"""What every page has around its content: the static links in <head> and the site header.

Both are kept parts (checkout/web/fragments.py): a guest's header differs from another guest's
only by the cart's count, and the links only by the files' content hashes. A signed-in
shopper's header carries a sign-out form with their session's CSRF token, so it is rendered
for each page.
"""

from flask import Flask, render_template
from flask_login import current_user
from markupsafe import Markup

from checkout.web.fragments import render_kept
from checkout.web.static_files import content_hash

# The stylesheet, icon and script every page names, in the order _shell/links.html takes them.
SHELL_FILES = ("css/shop.css", "favicon.svg", "js/local-times.js")


def shell_links() -> Markup:
    """<link> and <script> tags for the shop's own files, under their current hashes."""
    return render_kept("_shell/links.html",
                       files=tuple((name, content_hash(name)) for name in SHELL_FILES))


def site_header(cart_count: int, store_name: str) -> Markup:
    """The header with the shop's name, its links and the cart's count."""
    if current_user.is_authenticated:
        return Markup(render_template("_shell/header.html"))
    return render_kept("_shell/header.html", cart_count=cart_count, store_name=store_name)


def init_shell(app: Flask) -> None:
    """Offer the kept links and header to base.html."""
    app.add_template_global(shell_links, "shell_links")
    app.add_template_global(site_header, "site_header")
