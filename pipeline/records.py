"""The record contract of `shared/spec/record-format.md`: truth records and exported records.

Truth files (`NAME.gold.jsonl`) hold one `GoldRecord` per form, every leaf a plain string.
The pipeline's export holds one `ExportRecord` per form, every leaf a `FieldResult`.
The keys of a form's fields and rows are its form type's (`pipeline.form_spec.Template`:
`scalar_keys`, `indicators.keys`), which are the spec's and must not be renamed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

FORM_TYPE = "budget_performance_approval"  # the form type a record without one is of


class GoldRecord(BaseModel):
    """The correct record of one form, as a truth file holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str = FORM_TYPE
    fields: dict[str, str]
    indicators: list[dict[str, str]] = Field(
        default_factory=list, description="One filled indicator row each, keyed as its type's."
    )


class FieldResult(BaseModel):
    """One value the pipeline read, with how far it can be trusted and where it was seen."""

    model_config = ConfigDict(extra="allow")

    value: str
    confidence: float = Field(ge=0.0, le=1.0, description="Calibrated P(value is exactly right).")
    review: bool = Field(description="True when the field went to the review queue.")
    page: int | None = Field(default=None, description="1-based page number in the source file.")
    bbox: list[float] | None = Field(default=None, description="[x0, y0, x1, y1] in page pixels.")
    reviewed_by: str | None = None


class Source(BaseModel):
    """Where a form came from: a file relative to the run's folder, and its pages (1-based)."""

    model_config = ConfigDict(extra="allow")

    file: str
    pages: list[int] = Field(default_factory=list)


class ExportRecord(BaseModel):
    """One form as `formscan export --format jsonl` writes it."""

    model_config = ConfigDict(extra="allow")

    source: Source
    form_type: str = FORM_TYPE
    fields: dict[str, FieldResult]
    indicators: list[dict[str, FieldResult]] = Field(default_factory=list)


def read_gold(path: Path) -> list[GoldRecord]:
    """Read a truth file: one `GoldRecord` per non-empty line, in page order."""
    return [GoldRecord.model_validate_json(line) for line in _lines(path)]


def write_gold(path: Path, records: Iterable[GoldRecord]) -> None:
    """Write a truth file, one JSON object per line, CJK kept readable."""
    path.write_text(
        "".join(json.dumps(r.model_dump(), ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )


def read_export(path: Path) -> list[ExportRecord]:
    """Read an export file: one `ExportRecord` per non-empty line."""
    return [ExportRecord.model_validate_json(line) for line in _lines(path)]


def write_export(path: Path, records: Iterable[ExportRecord]) -> None:
    """Write an export file, one JSON object per line, without unset optional keys."""
    path.write_text(
        "".join(
            json.dumps(r.model_dump(exclude_none=True), ensure_ascii=False) + "\n" for r in records
        ),
        encoding="utf-8",
    )


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line
