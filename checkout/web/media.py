"""Uploaded product images, served from the upload folder by their random names only.

Also the request class that lets an upload form take a larger body than the rest of the shop
(MAX_CONTENT_LENGTH stays small everywhere else): the limit has to be known before the CSRF
check reads the form, which runs before any view or blueprint hook.
"""

from collections.abc import Callable

from flask import Blueprint, Request, abort, current_app, send_from_directory

from checkout.services import images

bp = Blueprint("media", __name__, url_prefix="/uploads")

# Room for the other fields of an upload form, beside the image itself.
FORM_ALLOWANCE = 256 * 1024


def takes_upload(view: Callable) -> Callable:
    """Let this view's form carry an image up to PRODUCT_IMAGE_MAX_BYTES."""
    view.takes_upload = True
    return view


def upload_body_limit() -> int:
    """The most bytes an upload form may send."""
    return current_app.config["PRODUCT_IMAGE_MAX_BYTES"] + FORM_ALLOWANCE


class ShopRequest(Request):
    """A request whose body limit is the upload limit on views marked `takes_upload`."""

    @property
    def max_content_length(self) -> int | None:
        rule = self.url_rule
        view = current_app.view_functions.get(rule.endpoint) if rule is not None else None
        if getattr(view, "takes_upload", False):
            return upload_body_limit()
        return super().max_content_length


@bp.get("/<name>")
def product_image(name: str):
    """Send an uploaded product image, as an image and nothing else."""
    if images.stored_name(images.UPLOAD_PREFIX + name) is None:
        abort(404, "There is no such image.")
    response = send_from_directory(images.upload_folder(), name, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
