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


def _hash_now(folder: str | None, filename: str) -> str | None:
    path = safe_join(folder, filename) if folder else None
    if path is None or not os.path.isfile(path):
        return None
    return _digest(path, os.stat(path).st_mtime_ns)


def content_hash(filename: str) -> str | None:
    """The short hash of a file under static/, or None if there is no such file.

    A page builds a dozen static URLs, and a released app's files do not change: each file
    is looked at once per process (the debug server looks again each time, for edits).
    """
    app = current_app._get_current_object()
    known = app.extensions["static_hashes"]
    if not app.debug and filename in known:
        return known[filename]
    digest = _hash_now(app.static_folder, filename)
    # Bounded: a request may name a file in endless spellings ("./css/shop.css", …).
    if digest is not None and len(known) < MAX_KNOWN_FILES:
        known[filename] = digest
    return digest


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
