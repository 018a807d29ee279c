"""The front-end packages the web app serves itself: Pico CSS and Swagger UI, pinned from npm.

`make` installs them into ``.webtools/node_modules`` at the versions the Makefile names (like
axe-core for the tests); nothing third-party is committed and no page loads anything from
another site. Each file is served under ``/static/vendor/`` from the app's own origin, so the
Content-Security-Policy can say ``'self'`` and nothing else.

Without the packages the app still works: our own stylesheet styles every page on its own,
and the API docs page says how to install Swagger UI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import fairwell

# What each served name is inside node_modules; the versions are pinned in the Makefile.
VENDOR_FILES = {
    "pico.min.css": "@picocss/pico/css/pico.min.css",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
}
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class VendorAssets:
    """Where the pinned packages are, if anywhere; ``path`` of a served name or None."""

    root: Path | None

    def path(self, name: str) -> Path | None:
        inside = VENDOR_FILES.get(name)
        if self.root is None or inside is None:
            return None
        found = self.root / inside
        return found if found.is_file() else None

    @property
    def has_pico(self) -> bool:
        return self.path("pico.min.css") is not None

    @property
    def has_swagger(self) -> bool:
        return all(self.path(name) for name in ("swagger-ui.css", "swagger-ui-bundle.js"))


def _candidates(configured: Path | None) -> list[Path]:
    if configured is not None:
        return [configured]
    checkout = Path(fairwell.__file__).resolve().parents[2]  # src/fairwell -> the checkout
    return [Path.cwd() / ".webtools" / "node_modules", checkout / ".webtools" / "node_modules"]


def find_vendor_assets(configured: Path | None) -> VendorAssets:
    """The first folder that holds any of the packages (FAIRWELL_WEB_ASSETS if set)."""
    for folder in _candidates(configured):
        if any((folder / inside).is_file() for inside in VENDOR_FILES.values()):
            return VendorAssets(folder)
    return VendorAssets(None)
