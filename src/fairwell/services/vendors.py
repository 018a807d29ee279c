"""Which vendors Fairwell knows: every folder of fairwell.integrations with an export profile.

Read as package data, never imported: the services reach the integrations through the ports,
and the CLI lists the vendors in its help without loading them.
"""

from __future__ import annotations

from importlib import resources

# Where the vendor folders are.
VENDORS_PACKAGE = "fairwell.integrations"


def vendor_names() -> list[str]:
    """Every vendor folder that ships an export profile, sorted: ``greenhouse``, ``lever``…
    Adding a folder with a ``profile.toml`` adds a vendor."""
    package = resources.files(VENDORS_PACKAGE)
    return sorted(
        entry.name
        for entry in package.iterdir()
        if entry.is_dir() and entry.joinpath("profile.toml").is_file()
    )
