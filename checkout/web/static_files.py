"""Static files under content-hashed URLs, kept by browsers for a year; the favicon.

Every `url_for('static', ...)` gets `?v=<hash of the file>`: a changed file gets a new URL, so
the old one may be cached for good. A URL without the current hash is only revalidated.
"""

import hashlib
import os
from functools import lru_cache

from flask import Blueprint, Flask, Response, current_app
from werkzeug.security import safe_join

bp = Blueprint("static_files", __name__)
IMMUTABLE = "public, max-age=31536000, immutable"
MAX_KNOWN_FILES = 1024


@lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int) -> str:
    # Keyed by the modification time too: a file edited while the server runs gets a new hash.
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:12]


def _hash_now(folder: str | None, filename: str) -> tuple[str, int, str] | None:
    """Resolve the name under the folder and hash the file: (path, mtime, hash), or None."""
    path = safe_join(folder, filename) if folder else None
    if path is None or not os.path.isfile(path):
        return None
    mtime_ns = os.stat(path).st_mtime_ns
    return path, mtime_ns, _digest(path, mtime_ns)


def content_hash(filename: str) -> str | None:
    """The short hash of a file under static/, or None if there is no such file.

    A page builds a dozen static URLs: each name is resolved and hashed once per process,
    and after that one `stat` says whether the file changed since (a file replaced under a
    running worker must not keep its old hash, which browsers cache for a year). The debug
    server resolves each time.
    """
    app = current_app._get_current_object()
    known = app.extensions["static_hashes"]
    seen = None if app.debug else known.get(filename)
    if seen is not None:
        path, mtime_ns, digest = seen
        try:
            if os.stat(path).st_mtime_ns == mtime_ns:
                return digest
        except OSError:
            pass  # gone or replaced: resolve it again
    found = _hash_now(app.static_folder, filename)
    if found is None:
        known.pop(filename, None)
        return None
    # Bounded: a request may name a file in endless spellings ("./css/shop.css", …).
    if filename in known or len(known) < MAX_KNOWN_FILES:
        known[filename] = found
    return found[2]


def is_current(filename: str, version: str | None) -> bool:
    """Does `?v=` name the file as it is now (so the response may be cached for a year)?"""
    return version is not None and version == content_hash(filename)


def _hash_static_urls(endpoint: str, values: dict) -> None:
    if endpoint == "static" and values.get("filename") and "v" not in values:
        digest = content_hash(values["filename"])
        if digest is not None:
            values["v"] = digest


@bp.get("/favicon.ico")
def favicon():
    """The shop's icon where browsers look for it before any page names one."""
    # Served from memory: a file handle left to a client that never reads the body would
    # stay open until the garbage collector finds it.
    response = Response(_favicon(current_app.static_folder), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 24 * 3600
    return response


@lru_cache(maxsize=1)
def _favicon(static_folder: str) -> bytes:
    with open(os.path.join(static_folder, "favicon.svg"), "rb") as icon:
        return icon.read()


def init_static_files(app: Flask) -> None:
    """Add the content hash to every static URL the app builds."""
    app.extensions["static_hashes"] = {}
    app.url_defaults(_hash_static_urls)
