"""Product images uploaded by staff: checked by their content, re-encoded, stored by a random name.

The bytes a browser sends are never stored as they came: Pillow must recognise them as a PNG,
JPEG or WebP by content (the file name and the declared type are ignored), the pixel size is
read from the header and refused before anything is decoded (a decompression bomb is a small
file that declares a huge picture), and the picture is written out again, which drops whatever
else rode along (metadata, a script appended to the file).
"""

from __future__ import annotations

import io
import re
import secrets
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from checkout.domain.errors import ImageRefused

if TYPE_CHECKING:
    from PIL import Image

# Pillow's format name → the extension the stored file gets (and so the type it is served as).
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_SIDE = 6000
MAX_PIXELS = 25_000_000
TOO_MANY_PIXELS = f"at most {MAX_SIDE} on a side and {MAX_PIXELS // 1_000_000} megapixels."
# What a stored name looks like; anything else asked of the image route is not ours.
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)\Z")
UPLOAD_PREFIX = "uploads/"


def upload_folder() -> Path:
    """Where uploaded product images live (UPLOAD_FOLDER, default instance/uploads)."""
    return Path(current_app.config["UPLOAD_FOLDER"])


def _decode(data: bytes) -> Image.Image:
    """Open, size-check and fully decode the picture; ImageRefused if it is not one we take."""
    # Pillow here, not at the top: every page names images, only a staff upload decodes one.
    from PIL import Image, UnidentifiedImageError

    limit = current_app.config["PRODUCT_IMAGE_MAX_BYTES"]
    if len(data) > limit:
        raise ImageRefused(f"The image is too large: at most {limit // 1_000_000} MB.")
    try:
        # Pillow warns about (or refuses) a huge declared size: our own limit is lower anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise ImageRefused("Upload a PNG, JPEG or WebP image.")
            width, height = probe.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise ImageRefused(f"The image is {width}×{height} pixels: {TOO_MANY_PIXELS}")
            probe.verify()
            # verify() leaves the image unusable: decode a fresh one.
            picture = Image.open(io.BytesIO(data))
            picture.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused(f"The image has too many pixels: {TOO_MANY_PIXELS}") from None
    except UnidentifiedImageError:
        raise ImageRefused("That file is not a PNG, JPEG or WebP image.") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused("That image is damaged or cut short: save it again and retry.") from None
    return picture


def store_product_image(data: bytes) -> str:
    """Check and re-encode an upload; return its path for Product.image ("uploads/<name>")."""
    picture = _decode(data)
    kind = picture.format
    if kind == "JPEG" and picture.mode not in ("RGB", "L"):
        picture = picture.convert("RGB")
    out = io.BytesIO()
    picture.save(out, format=kind)
    name = f"{secrets.token_hex(16)}.{FORMATS[kind]}"
    folder = upload_folder()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(out.getvalue())
    return UPLOAD_PREFIX + name


def stored_name(path: str | None) -> str | None:
    """The file name of an uploaded image path, or None if the path is not an upload."""
    if path and path.startswith(UPLOAD_PREFIX) and STORED_NAME.match(path[len(UPLOAD_PREFIX):]):
        return path[len(UPLOAD_PREFIX):]
    return None


def discard(path: str) -> None:
    """Delete an uploaded image that ended up unused (its product was not saved)."""
    name = stored_name(path)
    if name is not None:
        (upload_folder() / name).unlink(missing_ok=True)
