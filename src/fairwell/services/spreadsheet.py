"""An Excel workbook (.xlsx) as CSV text, so a spreadsheet is read by the CSV path row for row.

ATS exports (Greenhouse's candidate export, Workable's, Personio's) come as .xlsx as often as
.csv. The first sheet is read with openpyxl in read-only mode (streamed, values as last
calculated), every row kept, blank ones included, so the row numbers in messages are the ones
the spreadsheet shows. openpyxl parses the sheet's XML with defusedxml, which refuses entity
expansion attacks; the text made is capped like any import file.

Pure apart from reading the one file it is given.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path

from fairwell.services.tabular import MAX_IMPORT_BYTES, Problems, too_large

SPREADSHEET_SUFFIXES = (".xlsx",)


def spreadsheet_text(path: Path, problems: Problems) -> str:
    """The workbook's first sheet as CSV text; raise ImportFileError when it cannot be read."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise problems.fatal(too_large(path.stat().st_size))
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise problems.fatal(f"cannot read the spreadsheet: {_first_line(error)}") from None
    except OSError as error:
        raise problems.fatal(f"cannot read the file: {error.strerror or error}") from None
    try:
        return _as_csv(workbook.worksheets[0].iter_rows(values_only=True), problems)
    finally:
        workbook.close()


def _as_csv(rows: Iterable[Sequence[object]], problems: Problems) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for cells in rows:
        writer.writerow([_cell_text(value) for value in cells])
        if out.tell() > MAX_IMPORT_BYTES:
            raise problems.fatal(too_large(out.tell()))
    return out.getvalue()


def _cell_text(value: object) -> str:
    """A cell as a person would type it: dates in ISO 8601, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
