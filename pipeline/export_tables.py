"""Export as tables for spreadsheet users: one table per form type, rows of forms and indicators.

Each form type has its own columns (its record keys, from its template), so each has its own
table. CSV is one file per form type (`NAME.csv` becomes `NAME.TYPE.csv`, TYPE the form
type's `export_name`), its `row` column saying `form` or `indicator`; it is UTF-8 with a BOM,
which is how Excel knows the Chinese text is UTF-8. XLSX has two sheets per form type, `TYPE`
with its forms and `TYPE indicators` with their rows. Values are the corrected ones, as in
every export.

An XLSX cell holds at most 32,767 characters. A longer value is cut there, never silently:
its cell ends with `CUT_MARK`, the row's `notes` column names the field and its length, and
the export counts it. CSV and JSONL hold every value whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from pipeline.export import stored_records
from pipeline.form_spec import load_template
from pipeline.records import ExportRecord, FieldResult
from pipeline.store import Store

# Excel runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_CHARS = 32_767  # the most an Excel cell holds; openpyxl cuts longer text silently
CUT_MARK = " […cut: see notes]"


@dataclass(frozen=True)
class Columns:
    """One form type's table: its name and its scalar and indicator keys."""

    name: str
    scalars: list[str]
    indicators: list[str]

    @classmethod
    def of(cls, record: ExportRecord) -> Columns:
        """The columns of a record's form type; of a type this version lacks, the record's keys."""
        try:
            template = load_template(record.form_type)
        except FileNotFoundError:
            rows = dict.fromkeys(k for row in record.indicators for k in row)
            return cls(record.form_type[:20], list(record.fields), list(rows))
        return cls(template.export_name, template.scalar_keys, template.indicators.keys)

    @property
    def form_head(self) -> list[str]:
        """The forms table's columns."""
        return ["file", "form", "pages", *self.scalars, "to_review", "least_confidence"]

    @property
    def indicator_head(self) -> list[str]:
        """The indicator rows' table's columns."""
        return ["file", "form", "row", *self.indicators, "to_review", "least_confidence"]

    @property
    def csv_head(self) -> list[str]:
        """The CSV table's columns: both kinds of row in one table."""
        head = ["row", "file", "form", "pages", "indicator", *self.scalars, *self.indicators]
        return [*head, "to_review", "least_confidence"]


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


def form_rows(columns: Columns, seq: int, record: ExportRecord) -> list[object]:
    """A form's row: file, form number, pages, the scalar values, review state."""
    values = [record.fields[k].value if k in record.fields else "" for k in columns.scalars]
    pages = " ".join(str(p) for p in record.source.pages)
    return [record.source.file, seq + 1, pages, *values, *_review(record.fields)]


def indicator_rows(columns: Columns, seq: int, record: ExportRecord) -> Iterator[list[object]]:
    """Each indicator row of a form: file, form number, row number, its values, review."""
    for number, row in enumerate(record.indicators, start=1):
        values = [row[k].value if k in row else "" for k in columns.indicators]
        yield [record.source.file, seq + 1, number, *values, *_review(row)]


def _safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_path(path: Path, columns: Columns) -> Path:
    """Where a form type's CSV table goes: `NAME.csv` → `NAME.TYPE.csv`."""
    return path.with_name(f"{path.stem}.{columns.name}{path.suffix or '.csv'}")


def write_csv(store: Store, path: Path) -> dict[Path, int]:
    """Write the store's records as one CSV table per form type; returns forms by file.

    The records stream from the store; each type's file opens at its first form.
    """
    tables: dict[str, tuple[Columns, Any, Path]] = {}
    written: dict[Path, int] = {}
    with ExitStack() as files:
        for stored, record in stored_records(store):
            if record.form_type not in tables:
                columns = Columns.of(record)
                target = csv_path(path, columns)
                handle = files.enter_context(target.open("w", encoding="utf-8-sig", newline=""))
                tables[record.form_type] = (columns, csv.writer(handle), target)
                tables[record.form_type][1].writerow(columns.csv_head)
                written[target] = 0
            columns, writer, target = tables[record.form_type]
            written[target] += 1
            file, form, pages, *rest = form_rows(columns, stored.seq, record)
            scalars, review = rest[: len(columns.scalars)], rest[len(columns.scalars) :]
            blank_indicators = [""] * len(columns.indicators)
            row = ["form", file, form, pages, "", *scalars, *blank_indicators, *review]
            writer.writerow([_safe(v) for v in row])
            blank_scalars = [""] * len(columns.scalars)
            for file, form, number, *rest in indicator_rows(columns, stored.seq, record):
                values, review = rest[: len(columns.indicators)], rest[len(columns.indicators) :]
                row = ["indicator", file, form, pages, number, *blank_scalars, *values, *review]
                writer.writerow([_safe(v) for v in row])
    return written


def write_xlsx(store: Store, path: Path) -> XlsxWritten:
    """Write the store's records as a workbook of two sheets per form type."""
    # Write-only mode streams rows to the file instead of keeping every cell in memory.
    book = Workbook(write_only=True)
    sheets: dict[str, tuple[Columns, WriteOnlyWorksheet, WriteOnlyWorksheet]] = {}
    count = cut = 0
    for stored, record in stored_records(store):
        if record.form_type not in sheets:
            columns = Columns.of(record)
            forms = book.create_sheet(columns.name)
            indicators = book.create_sheet(f"{columns.name} indicators")
            for sheet in (forms, indicators):
                sheet.freeze_panes = "A2"
            forms.append([*columns.form_head, "notes"])
            indicators.append([*columns.indicator_head, "notes"])
            sheets[record.form_type] = (columns, forms, indicators)
        columns, forms, indicators = sheets[record.form_type]
        count += 1
        row, notes = _fitted(columns.form_head, form_rows(columns, stored.seq, record))
        forms.append(_text_cells(forms, [*row, "; ".join(notes)]))
        cut += len(notes)
        for values in indicator_rows(columns, stored.seq, record):
            row, notes = _fitted(columns.indicator_head, values)
            indicators.append(_text_cells(indicators, [*row, "; ".join(notes)]))
            cut += len(notes)
    if not sheets:
        book.create_sheet("forms").append(["no forms in the store"])
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
