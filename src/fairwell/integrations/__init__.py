"""Applicant tracking systems: one folder per vendor, beside a small shared base.

Each vendor folder holds what Fairwell knows about that vendor, as data where it can be:

- ``profile.toml``: how the vendor's candidate export (and its API's values) map onto
  Fairwell's fields: columns, stage names, sources, dates (:mod:`.profiles` reads it);
- ``reasons.toml``: the vendor's rejection or archive reason for each reason code, used when
  a decision is written back (overridden by ``FAIRWELL_ATS_REASON_MAP``);
- ``connector.py`` and ``webhooks.py`` for vendors Fairwell talks to: the API client (pull,
  write-back) and the verification of the vendor's signed webhooks.

Adding a vendor whose export Fairwell should read means adding a folder with a
``profile.toml``; nothing else lists the vendors (:func:`vendor_names` finds the folders).
The shared parts: :mod:`.base` (errors, the vendor descriptor), :mod:`.http` (requests with
retries and ``Retry-After``), :mod:`.ports` (the seams the services use).
"""

from __future__ import annotations

from importlib import resources

__all__ = ["vendor_names"]


def vendor_names() -> list[str]:
    """Every vendor folder that ships an export profile, sorted: ``greenhouse``, ``lever``…"""
    package = resources.files(__name__)
    return sorted(
        entry.name
        for entry in package.iterdir()
        if entry.is_dir() and entry.joinpath("profile.toml").is_file()
    )
