"""Reading the CSV files people actually have: Excel's UTF-8 with a byte-order mark, Latin-1
from older systems, ";" from European spreadsheets, line breaks inside quoted cells.

`inspect(raw)` decides the encoding and the separator and reads the header; `records()`
yields every data row with its spreadsheet row number (the header is row 1). A file that
is not text (a workbook, a PDF, a picture) is refused with a message that says what to do.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from crm.csvsafe import unneutralize

DELIMITERS = [",", ";", "\t", "|"]
SAMPLE_RECORDS = 50
MAX_COLUMNS = 200
# Python's csv module refuses cells over 128 KiB by default; long notes are real.
csv.field_size_limit(10 * 1024 * 1024)

_SIGNATURES = {
    b"PK\x03\x04": "This looks like an Excel or OpenDocument workbook. Save it as CSV "
    "(File → Save as → CSV UTF-8) and upload that.",
    b"\xd0\xcf\x11\xe0": "This looks like an old Excel workbook (.xls). Save it as CSV "
    "(File → Save as → CSV UTF-8) and upload that.",
    b"%PDF": "This is a PDF, not a CSV file. Export the data as CSV and upload that.",
    b"\x89PNG": "This is a picture, not a CSV file.",
    b"\xff\xd8\xff": "This is a picture, not a CSV file.",
    b"\x1f\x8b": "This file is compressed (gzip). Unpack it and upload the CSV inside.",
}


@dataclass(frozen=True)
class CsvFormat:
    encoding: str  # a Python codec name
    encoding_label: str  # what the import page shows
    delimiter: str
    headers: list[str]


def decode(raw: bytes) -> tuple[str, str, str]:
    """(text, codec, label). UTF-8 with or without a byte-order mark, else Windows-1252
    (which reads Latin-1 files too, plus the € and curly quotes Windows puts in them)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig", "UTF-8 (with BOM)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16", "UTF-16"
    try:
        return raw.decode("utf-8"), "utf-8", "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252", "Latin-1 (Windows-1252)"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1", "Latin-1 (ISO 8859-1)"


def refuse_non_text(raw: bytes, name: str) -> None:
    """Raise ValidationError (keyed "file") unless `raw` looks like a text table."""
    head = raw[:4096]
    for signature, message in _SIGNATURES.items():
        if head.startswith(signature):
            raise ValidationError({"file": message})
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError({"file": f"“{name}” is not a text file. Upload a CSV file."})
    if not raw.strip():
        raise ValidationError({"file": "The file is empty."})


def _sniff_delimiter(text: str) -> str:
    """The separator that splits the first records into the same number of columns most
    often, preferring more columns; a file with one column has none, and gets ","."""
    sample = text[: 256 * 1024]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = []
            for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
                rows.append(len(row))
                if len(rows) >= SAMPLE_RECORDS:
                    break
        except csv.Error:
            continue
        if not rows or rows[0] < 2:
            continue
        # Drop a last record the sample may have cut in half.
        counts = Counter(rows[:-1] if len(rows) > 2 else rows)
        agreeing = counts[rows[0]]
        score = (agreeing, rows[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def inspect(raw: bytes, name: str) -> tuple[CsvFormat, str]:
    """The file's format and its decoded text; ValidationError ("file") if unreadable."""
    refuse_non_text(raw, name)
    text, codec, label = decode(raw)
    delimiter = _sniff_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error as exc:
        raise ValidationError({"file": f"The first line cannot be read as CSV: {exc}."}) from exc
    header = [h.strip() for h in header]
    if not any(header):
        raise ValidationError({"file": "The first line must name the columns (a header row)."})
    if len(header) > MAX_COLUMNS:
        raise ValidationError(
            {"file": f"The file has {len(header)} columns; at most {MAX_COLUMNS}."}
        )
    return CsvFormat(codec, label, delimiter, _unique_headers(header)), text


def _unique_headers(header: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for i, name in enumerate(header, start=1):
        name = name or f"Column {i}"
        seen[name.casefold()] += 1
        out.append(name if seen[name.casefold()] == 1 else f"{name} ({seen[name.casefold()]})")
    return out


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every data row; blank lines are skipped.

    A row number counts records, not lines: a cell with line breaks inside quotes is one
    row, as a spreadsheet shows it. Raises ValidationError on a broken file (an unclosed
    quote), naming the row.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    row_number = 1
    try:
        next(reader, None)  # the header
        for cells in reader:
            row_number += 1
            if not any(c.strip() for c in cells):
                continue
            yield row_number, [unneutralize(c) for c in cells]
    except csv.Error as exc:
        raise ValidationError(
            {"file": f"Row {row_number + 1} cannot be read as CSV ({exc}). Check its quotes."}
        ) from exc
