"""Export as tables for spreadsheet users: one row per form and one per indicator row.

CSV is one table, its `row` column saying `form` or `indicator`; it is UTF-8 with a BOM,
which is how Excel knows the Chinese text is UTF-8. XLSX has the same rows on two sheets,
`forms` and `indicators`. Values are the corrected ones, as in every export.

An XLSX cell holds at most 32,767 characters. A longer value is cut there, never silently:
its cell ends with `CUT_MARK`, the row's `notes` column names the field and its length, and
the export counts it. CSV and JSONL hold every value whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipeline.export import stored_records
from pipeline.records import INDICATOR_KEYS, SCALAR_KEYS, ExportRecord, FieldResult
from pipeline.store import Store

FORM_HEAD = ["file", "form", "pages", *SCALAR_KEYS, "to_review", "least_confidence"]
INDICATOR_HEAD = ["file", "form", "row", *INDICATOR_KEYS, "to_review", "least_confidence"]
CSV_HEAD = ["row", "file", "form", "pages", "indicator", *SCALAR_KEYS, *INDICATOR_KEYS]
CSV_HEAD += ["to_review", "least_confidence"]
# Excel runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_CHARS = 32_767  # the most an Excel cell holds; openpyxl cuts longer text silently
CUT_MARK = " […cut: see notes]"


@dataclass(frozen=True)
class XlsxWritten:
    """What `write_xlsx` wrote: forms, and values cut to fit a cell."""

    forms: int
    cut: int


def _review(fields: dict[str, FieldResult]) -> tuple[str, float]:
    """Keys still waiting for review, and the least confidence, of one row's fields."""
    waiting = " ".join(k for k, f in fields.items() if f.review)
    least = min((f.confidence for f in fields.values()), default=1.0)
    return waiting, round(least, 4)


def form_rows(seq: int, record: ExportRecord) -> list[object]:
    """A form's row: file, form number, pages, the scalar values, review state."""
    values = [record.fields[k].value if k in record.fields else "" for k in SCALAR_KEYS]
    pages = " ".join(str(p) for p in record.source.pages)
    return [record.source.file, seq + 1, pages, *values, *_review(record.fields)]


def indicator_rows(seq: int, record: ExportRecord) -> Iterator[list[object]]:
    """Each indicator row of a form: file, form number, row number, its values, review."""
    for number, row in enumerate(record.indicators, start=1):
        values = [row[k].value if k in row else "" for k in INDICATOR_KEYS]
        yield [record.source.file, seq + 1, number, *values, *_review(row)]


def _safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(store: Store, path: Path) -> int:
    """Write the store's records as one CSV table; returns how many forms it holds."""
    blank_scalars = [""] * len(SCALAR_KEYS)
    blank_indicators = [""] * len(INDICATOR_KEYS)
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEAD)
        for stored, record in stored_records(store):
            count += 1
            file, form, pages, *rest = form_rows(stored.seq, record)
            scalars, review = rest[: len(SCALAR_KEYS)], rest[len(SCALAR_KEYS) :]
            row = ["form", file, form, pages, "", *scalars, *blank_indicators, *review]
            writer.writerow([_safe(v) for v in row])
            for file, form, number, *rest in indicator_rows(stored.seq, record):
                values, review = rest[: len(INDICATOR_KEYS)], rest[len(INDICATOR_KEYS) :]
                row = ["indicator", file, form, pages, number, *blank_scalars, *values, *review]
                writer.writerow([_safe(v) for v in row])
    return count


def write_xlsx(store: Store, path: Path) -> XlsxWritten:
    """Write the store's records as a workbook of two sheets; returns what it wrote."""
    # Write-only mode streams rows to the file instead of keeping every cell in memory.
    book = Workbook(write_only=True)
    forms = book.create_sheet("forms")
    indicators = book.create_sheet("indicators")
    for sheet in (forms, indicators):
        sheet.freeze_panes = "A2"
    forms.append([*FORM_HEAD, "notes"])
    indicators.append([*INDICATOR_HEAD, "notes"])
    count = cut = 0
    for stored, record in stored_records(store):
        count += 1
        row, notes = _fitted(FORM_HEAD, form_rows(stored.seq, record))
        forms.append(_text_cells(forms, [*row, "; ".join(notes)]))
        cut += len(notes)
        for values in indicator_rows(stored.seq, record):
            row, notes = _fitted(INDICATOR_HEAD, values)
            indicators.append(_text_cells(indicators, [*row, "; ".join(notes)]))
            cut += len(notes)
    book.save(path)
    return XlsxWritten(forms=count, cut=cut)


def _fitted(head: list[str], row: list[object]) -> tuple[list[object], list[str]]:
    """The row with each value cut to fit a cell, and a note for each one cut."""
    fitted: list[object] = []
    notes: list[str] = []
    for column, value in zip(head, row, strict=True):
        if isinstance(value, str) and len(value) > XLSX_CELL_CHARS:
            fitted.append(value[: XLSX_CELL_CHARS - len(CUT_MARK)] + CUT_MARK)
            notes.append(
                f"{column}: {len(value):,} characters, cut to a cell's {XLSX_CELL_CHARS:,} "
                "(the CSV and JSONL exports hold it whole)"
            )
        else:
            fitted.append(value)
    return fitted, notes


def _text_cells(sheet: WriteOnlyWorksheet, row: list[object]) -> list[object]:
    """Strings as text cells: openpyxl takes a string starting with "=" for a formula."""
    cells: list[object] = []
    for value in row:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells
