"""The API's documentation page, the pinned front-end files and the favicon, all from the app.

Swagger UI comes from the swagger-ui-dist package at the version the Makefile pins (see
web/assets.py), never from a CDN; its start-up script is our own file, so the page keeps the
same strict Content-Security-Policy as every other page. Without the package the page says
how to install it and links the OpenAPI document itself.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from fairwell.web.assets import MEDIA_TYPES, VendorAssets

# Pinned files never change under one name: a browser may keep them for a day.
VENDOR_CACHE = "public, max-age=86400"


def register(app: FastAPI) -> None:
    app.get("/api/docs", response_class=HTMLResponse, include_in_schema=False)(docs_page)
    app.get("/static/vendor/{name}", include_in_schema=False)(vendor_file)
    app.get("/favicon.ico", include_in_schema=False)(favicon)


def _vendor(request: Request) -> VendorAssets:
    vendor: VendorAssets = request.app.state.vendor
    return vendor


def vendor_file(request: Request, name: str) -> Response:
    path = _vendor(request).path(name)
    if path is None:
        raise HTTPException(status_code=404, detail="this front-end file is not installed")
    media = MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": VENDOR_CACHE})


def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page links; the icon is an SVG file."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


def docs_page(request: Request) -> Response:
    pages: Jinja2Templates = request.app.state.pages
    return pages.TemplateResponse(
        request, "api_docs.html", {"has_swagger": _vendor(request).has_swagger}
    )
