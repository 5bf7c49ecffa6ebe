"""CSV files that are safe to open in a spreadsheet: one writer for every export.

A cell that starts like a formula (=, +, -, @, or a tab or carriage return that some
spreadsheets skip before reading one) is prefixed with an apostrophe, so "=HYPERLINK(…)"
typed into a contact's name shows as text instead of running. Numbers Keel computed stay
numbers (a negative figure must remain -0.3). Imports strip the apostrophe again
(`unneutralize`), so an export reads back as it was.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unneutralize(text: str) -> str:
    """The cell as it was before `safe_cell` quoted it ("'=1+1" -> "=1+1")."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def write_rows(stream: Any, header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    """Write `header` and `rows` through safe_cell; returns the number of rows."""
    writer = csv.writer(stream)
    writer.writerow([safe_cell(c) for c in header])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count


def csv_response(
    filename: str, header: list[str], rows: Iterable[Iterable[Any]], *, bom: bool = True
) -> HttpResponse:
    """A download of the whole file. Rows are written before returning: the tenant's
    database setting ends with the request's transaction, so nothing may stream later.
    The byte-order mark (`bom`) lets spreadsheet programs read UTF-8 names correctly."""
    buffer = io.StringIO()
    write_rows(buffer, header, rows)
    body = ("\ufeff" if bom else "") + buffer.getvalue()
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
