"""Reason maps: which ATS rejection or archive reason each Fairwell reason code becomes.

Data, not code: each vendor folder ships ``reasons.toml`` (``code = "the vendor's reason"``,
plus ``default`` for codes it does not list), and ``FAIRWELL_ATS_REASON_MAP`` names a TOML file
with a table per vendor laid over them. A reason is the vendor's name for it or its id; the
connector resolves names against the vendor's list when it writes back.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fairwell.errors import ConfigurationError
from fairwell.services.vendors import VENDORS_PACKAGE, vendor_names

__all__ = ["ReasonMap", "load_reason_map"]

DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class ReasonMap:
    """The vendor's reason for each reason code, per vendor."""

    by_vendor: Mapping[str, Mapping[str, str]]

    def reason(self, vendor: str, code: str) -> str:
        """The vendor's reason for ``code``, else the vendor's default; KeyError if neither."""
        table = self.by_vendor.get(vendor, {})
        return table.get(code) or table[DEFAULT]

    def code_for(self, vendor: str, reason: str) -> str | None:
        """The one reason code that maps to the vendor's ``reason`` (a name or id), or None
        when none or several do: a decision never gets a reason someone would have to guess."""
        wanted = reason.strip().casefold()
        codes = [
            code
            for code, value in self.by_vendor.get(vendor, {}).items()
            if code != DEFAULT and value.strip().casefold() == wanted
        ]
        return codes[0] if len(codes) == 1 else None


def load_reason_map(override: Path | None) -> ReasonMap:
    """The shipped maps with ``override`` (FAIRWELL_ATS_REASON_MAP) laid over them."""
    tables: dict[str, dict[str, str]] = {}
    for vendor in vendor_names():
        shipped = resources.files(VENDORS_PACKAGE).joinpath(vendor, "reasons.toml")
        if shipped.is_file():
            tables[vendor] = _strings(tomllib.loads(shipped.read_text(encoding="utf-8")), vendor)
    if override is not None:
        for vendor, table in _read(override).items():
            if not isinstance(table, dict):
                raise ConfigurationError(
                    f"FAIRWELL_ATS_REASON_MAP: {override}: [{vendor}] must be a table"
                )
            tables.setdefault(vendor, {}).update(_strings(table, f"{override} [{vendor}]"))
    return ReasonMap(tables)


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(
            f"FAIRWELL_ATS_REASON_MAP: cannot read {path}: {error.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"FAIRWELL_ATS_REASON_MAP: {path}: not valid TOML: {error}"
        ) from None


def _strings(table: Mapping[str, object], where: str) -> dict[str, str]:
    """Names stay text; an id may be written as a number (Greenhouse's are)."""
    values: dict[str, str] = {}
    for code, value in table.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigurationError(
                f"FAIRWELL_ATS_REASON_MAP: {where}: {code} must be a reason's name or id"
            )
        values[code] = str(value)
    return values
