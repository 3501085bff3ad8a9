"""The website chat widget's files, for any page that embeds it:

    GET /widget/widget.js          the widget (web/widget/widget.js)
    GET /widget/widget.css         its styles, loaded by widget.js
    GET /widget/socket.io.min.js   socket.io-client's browser build, installed
                                   from npm into web/node_modules (make setup)

Only these three names are served. Each answer carries an ETag (a 304 when
the browser has it) and a one-day public cache: the embed address has no
version in it, so a release reaches every page within a day.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sanic import Sanic, response
from sanic.request import Request

from console.pages import error_page
from portal.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

WEB = PROJECT_ROOT / "web"
JS = "text/javascript; charset=utf-8"
FILES = {
    "widget.js": (WEB / "widget" / "widget.js", JS),
    "widget.css": (WEB / "widget" / "widget.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (WEB / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js", JS),
}
CACHE_CONTROL = "public, max-age=86400"

_loaded: dict[Path, tuple[float, bytes, str]] = {}


def _read(path: Path) -> tuple[bytes, str] | None:
    """The file and its ETag, read again only when it changed on disk."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _loaded.get(path)
    if cached is None or cached[0] != modified:
        body = path.read_bytes()
        cached = (modified, body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _loaded[path] = cached
    return cached[1], cached[2]


def register(app: Sanic) -> None:
    @app.get("/widget/<name:str>")
    async def widget_file(request: Request, name: str) -> response.HTTPResponse:
        if name not in FILES:
            return error_page(404)
        path, content_type = FILES[name]
        found = _read(path)
        if found is None:
            log.error("%s is missing: run `make setup` (scripts/setup_web.sh)", path)
            return error_page(404)
        body, etag = found
        headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return response.empty(status=304, headers=headers)
        return response.raw(body, content_type=content_type, headers=headers)
