"""Stage 10, export: forms as the spec's JSONL records, from a run or from the store."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from pipeline.readings import Evidence, FieldReading, FormReading
from pipeline.records import ExportRecord, FieldResult, Source, write_export
from pipeline.store import Store
from pipeline.store.rows import Correction, StoredForm


def field_result(reading: FieldReading) -> FieldResult:
    """The exported form of one field."""
    # The evidence travels with the value: a reviewer sees why a field was doubted, and the
    # calibration can be refitted from an export without reading the scans again.
    return FieldResult(
        value=reading.value,
        confidence=reading.confidence,
        review=reading.review,
        page=reading.page,
        bbox=reading.bbox,
        raw=reading.raw,
        evidence=reading.evidence.model_dump(),
    )


def to_record(form: FormReading, versions: Mapping[str, str]) -> ExportRecord:
    """One form as `records.jsonl` holds it, with the versions that produced it."""
    return ExportRecord(
        source=Source(file=form.file, pages=form.pages),
        form_type=form.form_type,
        fields={key: field_result(r) for key, r in form.fields.items()},
        indicators=[{k: field_result(r) for k, r in row.items()} for row in form.indicators],
        versions=dict(versions),
        issues=list(form.issues),
    )


def field_reading(result: FieldResult) -> FieldReading:
    """A field read back from an export, with the evidence it carries."""
    extra = result.model_extra or {}
    return FieldReading(
        value=result.value,
        raw=str(extra.get("raw", "")),
        page=result.page,
        bbox=result.bbox,
        evidence=Evidence.model_validate(extra.get("evidence", {})),
        confidence=result.confidence,
        review=result.review,
    )


def form_of(record: ExportRecord) -> FormReading:
    """An exported form read back, as the stages passed it on: `to_record` undone."""
    issues = (record.model_extra or {}).get("issues", [])
    return FormReading(
        file=record.source.file,
        pages=record.source.pages,
        form_type=record.form_type,
        fields={key: field_reading(r) for key, r in record.fields.items()},
        indicators=[{k: field_reading(r) for k, r in row.items()} for row in record.indicators],
        issues=[str(i) for i in issues] if isinstance(issues, list) else [],
    )


def write_records(path: Path, forms: Iterable[FormReading], versions: Mapping[str, str]) -> int:
    """Write `records.jsonl`; returns how many forms it holds."""
    records = [to_record(f, versions) for f in forms]
    write_export(path, records)
    return len(records)


def write_summary(path: Path, summary: Mapping[str, object]) -> None:
    """Write `summary.json`, readable by people and tools."""
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def corrected(record: ExportRecord, corrections: Mapping[str, Correction]) -> ExportRecord:
    """A record with reviewers' values in place of the OCR values, as the spec says.

    The OCR text stays in `raw`; the corrected field has confidence 1.0, is out of review
    and says who reviewed it.
    """
    for path, correction in corrections.items():
        parts = path.split(".")
        if parts[0] == "fields":
            result = record.fields.get(parts[1])
        else:
            row = int(parts[1])
            result = record.indicators[row].get(parts[2]) if row < len(record.indicators) else None
        if result is not None:
            result.value = correction.new_value
            result.confidence = 1.0
            result.review = False
            result.reviewed_by = correction.reviewer
    return record


def stored_records(store: Store) -> Iterator[tuple[StoredForm, ExportRecord]]:
    """Every current form in the store as its export record, corrections applied."""
    for stored in store.current_forms():
        yield stored, corrected(to_record(stored.form, stored.versions), stored.corrections)


def write_jsonl(store: Store, path: Path) -> int:
    """Write the store's records as `records.jsonl`; returns how many forms it holds.

    Written to a temporary file first, so a run killed while exporting leaves the last
    complete export in place.
    """
    partial = path.with_name(path.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as handle:
        for _, record in stored_records(store):
            handle.write(json.dumps(record.model_dump(exclude_none=True), ensure_ascii=False))
            handle.write("\n")
            count += 1
    os.replace(partial, path)
    return count
