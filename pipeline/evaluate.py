"""Scores an export against truth files, by the rules of `shared/spec/record-format.md`.

Every field is scored from two sides. A *truth field* is one leaf of a truth record; it is
correct when the export holds an equal value for it. An *output field* is one leaf of the
export; it is correct when it matches its truth field, and wrong when the value differs or
nothing in the truth stands for it (an extra form, an extra indicator row, an unknown key).
Field accuracy counts truth fields; review load, silent errors and calibration count output
fields, because those are what the pipeline said and what a reviewer sees.

Choices the spec leaves open:

- Empty denominators give 0.0, except field accuracy with no truth fields: 1.0 when the
  export is empty too (nothing to read, nothing read), else 0.0 (everything read is false).
- Forms of one file are taken in export order, sorted by first page when every form of that
  file gives its pages (a stable sort, so ties keep export order).
- A form is straight-through when it has an output, every truth field is correct, no output
  field went to review and no output field is wrong (no extra indicator row, no unknown key).
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from pipeline.form_spec import is_numeric, known_form_types, load_template
from pipeline.records import (
    ExportRecord,
    FieldResult,
    GoldRecord,
    read_export,
    read_gold,
)

GOLD_SUFFIX = ".gold.jsonl"
SCAN_SUFFIXES: tuple[str, ...] = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
INDICATOR_PREFIX = "indicators."
# The spec's "expected calibration error over 10 bins": equal width over [0, 1].
CALIBRATION_BINS = 10

_SYMBOL_FOLDS = str.maketrans({"≧": "≥", "≦": "≤"})


def _key_order() -> list[str]:
    """Every known form type's keys, in their records' order: how per-field figures are listed."""
    order: dict[str, None] = {}
    for form_type in known_form_types():
        template = load_template(form_type)
        order.update(dict.fromkeys(template.scalar_keys))
        order.update(dict.fromkeys(INDICATOR_PREFIX + k for k in template.indicators.keys))
    return list(order)


class EvalInputError(Exception):
    """A truth folder or export file that cannot be used; the message names the file."""


class WrongField(BaseModel):
    """One field scored wrong, for debugging an export against its truth.

    `file` is the document (`batch7/NAME`: path under the truth folder, no extension).
    `expected` is None for an output field with no truth field (extra form, extra indicator
    row, unknown key); `got`, `confidence` and `review` are None for a truth field the
    export lacks. `row` is the indicator row: its index in the truth form, or in the output
    form when `expected` is None; None for scalar fields.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    form_index: int
    key: str
    row: int | None
    expected: str | None
    got: str | None
    confidence: float | None
    review: bool | None


class EvalCounts(BaseModel):
    """The sizes behind the metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    documents: int
    truth_forms: int
    output_forms: int
    missing_forms: int
    extra_forms: int
    truth_fields: int
    output_fields: int
    wrong_silent_fields: int
    output_files_without_truth: int


class TypeFigures(BaseModel):
    """The headline figures of the forms of one type (their truth's type, or their own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    truth_forms: int
    output_forms: int
    field_accuracy: float
    silent_error_rate: float
    review_load: float


class EvalReport(BaseModel):
    """The scores of one export against one truth set; every rate is in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field_accuracy: float
    straight_through_rate: float
    review_load: float
    silent_error_rate: float
    calibration_error: float
    per_field: dict[str, float]
    per_form_type: dict[str, TypeFigures]
    counts: EvalCounts
    wrong_fields: list[WrongField]


@dataclass(frozen=True)
class _ScoredField:
    file: str
    form_type: str
    form_index: int
    key: str
    row: int | None
    expected: str | None
    got: FieldResult | None
    correct: bool

    def as_wrong_field(self) -> WrongField:
        got = self.got
        return WrongField(
            file=self.file,
            form_index=self.form_index,
            key=self.key,
            row=self.row,
            expected=self.expected,
            got=got.value if got else None,
            confidence=got.confidence if got else None,
            review=got.review if got else None,
        )


@dataclass(frozen=True)
class _ScoredForm:
    form_type: str
    has_truth: bool
    has_output: bool
    fields: tuple[_ScoredField, ...]

    @property
    def straight_through(self) -> bool:
        return (
            self.has_truth
            and self.has_output
            and all(f.correct for f in self.fields)
            and not any(f.got is not None and f.got.review for f in self.fields)
        )


def normalize_text(text: str) -> str:
    """Return `text` as the spec compares it: NFKC, no whitespace, `≧`/`≦` as `≥`/`≤`."""
    folded = unicodedata.normalize("NFKC", text).translate(_SYMBOL_FOLDS)
    return "".join(folded.split())


def values_match(expected: str, got: str, numeric: bool = False) -> bool:
    """Tell whether an output value equals its truth value.

    Args:
        expected: The truth value.
        got: The output value.
        numeric: The field compares as a decimal number (its form type says which:
            `Template.numeric_keys`); a rate keeps its `%`, which both sides must have.

    Returns:
        True when the normalised values are equal, or for a numeric field when both are
        numbers of equal value. A value that is not a number compares as text, so `""`
        equals only `""`.

    """
    expected, got = normalize_text(expected), normalize_text(got)
    if numeric and expected.endswith("%") == got.endswith("%"):
        expected_number = _as_decimal(expected.removesuffix("%"))
        got_number = _as_decimal(got.removesuffix("%"))
        if expected_number is not None and got_number is not None:
            return expected_number == got_number
    return expected == got


def load_gold_set(gold_dir: Path) -> dict[str, list[GoldRecord]]:
    """Read every `*.gold.jsonl` under `gold_dir`, subfolders included.

    Args:
        gold_dir: The folder a run was given, holding scans and their truth files.

    Returns:
        Truth records by document: the truth file's path relative to `gold_dir`, in `/`
        form, without `.gold.jsonl` (`batch7/NAME`).

    Raises:
        EvalInputError: The folder is missing, holds no truth file, or one cannot be read.

    """
    if not gold_dir.is_dir():
        raise EvalInputError(f"{gold_dir}: truth folder not found")
    gold: dict[str, list[GoldRecord]] = {}
    for path in sorted(gold_dir.rglob("*" + GOLD_SUFFIX)):
        relative = path.relative_to(gold_dir).as_posix()
        try:
            gold[relative.removesuffix(GOLD_SUFFIX)] = read_gold(path)
        except (OSError, ValueError) as error:
            raise EvalInputError(f"{path}: not a readable truth file: {error}") from error
    if not gold:
        raise EvalInputError(f"{gold_dir}: no *{GOLD_SUFFIX} truth file in this folder")
    return gold


def load_predictions(pred_path: Path) -> list[ExportRecord]:
    """Read an export file, turning any failure into an `EvalInputError` that names it.

    Raises:
        EvalInputError: The file is missing, not UTF-8, or a line is not an export record.

    """
    try:
        return read_export(pred_path)
    except (OSError, ValueError) as error:
        raise EvalInputError(f"{pred_path}: not a readable export file: {error}") from error


def document_of(source_file: str) -> str:
    """Return the document an export's `source.file` names: its path without extension."""
    return PurePosixPath(source_file.replace("\\", "/")).with_suffix("").as_posix()


def evaluate_files(gold_dir: Path, pred_path: Path) -> EvalReport:
    """Score the export file `pred_path` against the truth files under `gold_dir`."""
    return evaluate(load_gold_set(gold_dir), load_predictions(pred_path))


def evaluate(
    gold: Mapping[str, Sequence[GoldRecord]], export: Sequence[ExportRecord]
) -> EvalReport:
    """Score export records against truth records.

    Args:
        gold: Truth records by document, as `load_gold_set` returns them.
        export: Export records; `source.file` names each one's document.

    Returns:
        The metrics, per-field accuracy, counts and the list of wrong fields.

    """
    outputs = _group_by_document(export)
    forms = _scored_forms(gold, outputs)
    fields = [f for form in forms for f in form.fields]
    truth_fields = [f for f in fields if f.expected is not None]
    output_results = [(f, f.got) for f in fields if f.got is not None]
    silent = [f for f, got in output_results if not f.correct and not got.review]
    truth_forms = [form for form in forms if form.has_truth]
    return EvalReport(
        field_accuracy=_field_accuracy(truth_fields, len(output_results)),
        straight_through_rate=_ratio(
            sum(form.straight_through for form in truth_forms), len(truth_forms)
        ),
        review_load=_ratio(sum(got.review for _, got in output_results), len(output_results)),
        silent_error_rate=_ratio(len(silent), len(output_results)),
        calibration_error=calibration_error(
            (got.confidence, f.correct) for f, got in output_results
        ),
        per_field=_per_field_accuracy(truth_fields),
        per_form_type=_per_form_type(forms),
        counts=EvalCounts(
            documents=len(gold),
            truth_forms=len(truth_forms),
            output_forms=len(export),
            missing_forms=sum(form.has_truth and not form.has_output for form in forms),
            extra_forms=sum(form.has_output and not form.has_truth for form in forms),
            truth_fields=len(truth_fields),
            output_fields=len(output_results),
            wrong_silent_fields=len(silent),
            output_files_without_truth=len(set(outputs) - set(gold)),
        ),
        wrong_fields=[f.as_wrong_field() for f in fields if not f.correct],
    )


def label_outputs(
    gold: Mapping[str, Sequence[GoldRecord]], export: Sequence[ExportRecord]
) -> list[tuple[str, FieldResult, bool]]:
    """Every output field with its key and whether it is right: what calibration is fitted on."""
    forms = _scored_forms(gold, _group_by_document(export))
    return [(f.key, f.got, f.correct) for form in forms for f in form.fields if f.got is not None]


class OutputTruth(NamedTuple):
    """An output field, its place, and the truth value it is scored against (None: none)."""

    record: ExportRecord
    path: str
    got: FieldResult
    expected: str | None


def output_truths(
    gold: Mapping[str, Sequence[GoldRecord]], export: Sequence[ExportRecord]
) -> list[OutputTruth]:
    """Every output field with its path in its record and the truth value it is scored against.

    The path is `fields.KEY` or `indicators.ROW.KEY`, ROW the output row; the truth value is
    None where nothing in the truth stands for the field (extra form, row or key). Forms and
    rows are paired as `evaluate` pairs them, so a person answering from this truth (a
    simulated reviewer) says what the scorer would.
    """
    found: list[OutputTruth] = []
    for document, records in _group_by_document(export).items():
        for _, truth, record in _paired_forms(gold.get(document, ()), records):
            if record is None:
                continue
            scalars = truth.fields if truth else {}
            found += [
                OutputTruth(record, f"fields.{k}", got, scalars.get(k))
                for k, got in record.fields.items()
            ]
            rows = truth.indicators if truth else []
            for truth_index, output_index in _pair_rows(rows, record.indicators):
                if output_index is None:
                    continue
                expected = rows[truth_index] if truth_index is not None else {}
                found += [
                    OutputTruth(record, f"indicators.{output_index}.{k}", got, expected.get(k))
                    for k, got in record.indicators[output_index].items()
                ]
    return found


def _scored_forms(
    gold: Mapping[str, Sequence[GoldRecord]], outputs: Mapping[str, list[ExportRecord]]
) -> list[_ScoredForm]:
    return [
        _score_form(document, form_index, truth, output)
        for document in [*gold, *sorted(set(outputs) - set(gold))]
        for form_index, truth, output in _paired_forms(
            gold.get(document, ()), outputs.get(document, ())
        )
    ]


def _paired_forms(
    truths: Sequence[GoldRecord], outputs: Sequence[ExportRecord]
) -> list[tuple[int, GoldRecord | None, ExportRecord | None]]:
    """A file's truth forms paired with its output forms of the same type, in order.

    Each with its index: the truth form's, or for an extra output form, its own. A form
    read as the wrong type is a missing form and an extra one.
    """
    waiting: dict[str, deque[int]] = defaultdict(deque)
    for index, output in enumerate(outputs):
        waiting[output.form_type].append(index)
    pairs: list[tuple[int, GoldRecord | None, ExportRecord | None]] = []
    for index, truth in enumerate(truths):
        queue = waiting[truth.form_type]
        pairs.append((index, truth, outputs[queue.popleft()] if queue else None))
    extra = sorted(i for queue in waiting.values() for i in queue)
    return pairs + [(index, None, outputs[index]) for index in extra]


def calibration_error(scored: Iterable[tuple[float, bool]]) -> float:
    """Return the expected calibration error of (confidence, correct) pairs.

    The pairs fall into `CALIBRATION_BINS` equal-width bins over [0, 1], a confidence of
    exactly 1.0 into the last one. The error is the sum over bins of
    n_bin / N * |accuracy_bin - mean_confidence_bin|; 0.0 when there are no pairs.
    """
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(CALIBRATION_BINS)]
    for confidence, correct in scored:
        bins[min(math.floor(confidence * CALIBRATION_BINS), CALIBRATION_BINS - 1)].append(
            (confidence, correct)
        )
    total = sum(len(members) for members in bins)
    if total == 0:
        return 0.0
    return sum(
        len(members) / total * abs(_mean(c for _, c in members) - _mean(p for p, _ in members))
        for members in bins
        if members
    )


def format_report(report: EvalReport) -> str:
    """Render a report as a plain-text table: metrics, counts, then per-field accuracy."""
    metrics = {
        "field accuracy": report.field_accuracy,
        "straight-through rate": report.straight_through_rate,
        "review load": report.review_load,
        "silent error rate": report.silent_error_rate,
        "calibration error (ECE)": report.calibration_error,
    }
    width = max(map(len, [*metrics, *report.per_field, *EvalCounts.model_fields]))
    lines = [f"{name:<{width}}  {value:.4f}" for name, value in metrics.items()]
    lines += ["", *(f"{n:<{width}}  {v}" for n, v in report.counts.model_dump().items())]
    if len(report.per_form_type) > 1:
        lines += ["", "per form type: truth forms, output forms, accuracy, silent, review"]
        lines += [
            f"  {name}  {t.truth_forms}  {t.output_forms}  {t.field_accuracy:.4f}  "
            f"{t.silent_error_rate:.4f}  {t.review_load:.4f}"
            for name, t in report.per_form_type.items()
        ]
    lines += ["", "per-field accuracy"]
    lines += [f"  {key:<{width - 2}}  {value:.4f}" for key, value in report.per_field.items()]
    if report.wrong_fields:
        lines += ["", f"{len(report.wrong_fields)} wrong fields; --json lists them"]
    return "\n".join(lines)


def _as_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(normalize_text(text))
    except InvalidOperation:
        return None
    # NaN never equals itself and "Infinity" is no amount; both compare as text.
    return number if number.is_finite() else None


def _group_by_document(export: Sequence[ExportRecord]) -> dict[str, list[ExportRecord]]:
    grouped: dict[str, list[ExportRecord]] = defaultdict(list)
    for record in export:
        grouped[document_of(record.source.file)].append(record)
    return {document: _in_page_order(records) for document, records in grouped.items()}


def _in_page_order(records: list[ExportRecord]) -> list[ExportRecord]:
    # Sorting only when every form gives its pages: a form without pages has no place
    # among the others, so the export's own order is the better guess then.
    if all(r.source.pages for r in records):
        return sorted(records, key=lambda r: min(r.source.pages))
    return records


def _score_form(
    document: str, form_index: int, truth: GoldRecord | None, output: ExportRecord | None
) -> _ScoredForm:
    """Score one form by the keys of its type: its truth's, or an extra form's own."""
    form_type = truth.form_type if truth else output.form_type if output else ""
    truth_rows = truth.indicators if truth else []
    output_rows = output.indicators if output else []
    truth_scalars = truth.fields if truth else {}
    fields = _score_leaves(
        document, form_type, form_index, "", None, truth_scalars, output.fields if output else {}
    )
    for truth_index, output_index in _pair_rows(truth_rows, output_rows):
        fields += _score_leaves(
            document,
            form_type,
            form_index,
            INDICATOR_PREFIX,
            truth_index if truth_index is not None else output_index,
            truth_rows[truth_index] if truth_index is not None else {},
            output_rows[output_index] if output_index is not None else {},
        )
    return _ScoredForm(form_type, truth is not None, output is not None, tuple(fields))


def _score_leaves(
    document: str,
    form_type: str,
    form_index: int,
    prefix: str,
    row: int | None,
    truth: Mapping[str, str],
    output: Mapping[str, FieldResult],
) -> list[_ScoredField]:
    """Score one flat group of leaves: a form's scalars, or one paired indicator row."""
    pairs: list[tuple[str, str | None, FieldResult | None]] = [
        (prefix + key, expected, output.get(key)) for key, expected in truth.items()
    ]
    pairs += [(prefix + key, None, got) for key, got in output.items() if key not in truth]
    return [
        _ScoredField(
            document,
            form_type,
            form_index,
            key,
            row,
            expected,
            got,
            expected is not None
            and got is not None
            and values_match(expected, got.value, is_numeric(form_type, key)),
        )
        for key, expected, got in pairs
    ]


def _pair_rows(
    truth_rows: Sequence[Mapping[str, str]], output_rows: Sequence[Mapping[str, FieldResult]]
) -> list[tuple[int | None, int | None]]:
    """Pair indicator rows by (level2, seq), duplicates in order; unpaired rows pair None."""
    waiting: dict[tuple[str, str], deque[int]] = defaultdict(deque)
    for truth_index, truth_row in enumerate(truth_rows):
        waiting[_row_key(truth_row.get("level2", ""), truth_row.get("seq", ""))].append(truth_index)
    pairs: list[tuple[int | None, int | None]] = []
    for output_index, output_row in enumerate(output_rows):
        level2, seq = output_row.get("level2"), output_row.get("seq")
        queue = waiting.get(_row_key(level2.value if level2 else "", seq.value if seq else ""))
        pairs.append((queue.popleft() if queue else None, output_index))
    pairs += [(truth_index, None) for truth_index in sorted(i for q in waiting.values() for i in q)]
    return pairs


def _row_key(level2: str, seq: str) -> tuple[str, str]:
    return normalize_text(level2), normalize_text(seq)


def _field_accuracy(truth_fields: Sequence[_ScoredField], output_field_count: int) -> float:
    if not truth_fields:
        return 1.0 if output_field_count == 0 else 0.0
    return _ratio(sum(f.correct for f in truth_fields), len(truth_fields))


def _per_field_accuracy(truth_fields: Sequence[_ScoredField]) -> dict[str, float]:
    tallies: dict[str, list[bool]] = defaultdict(list)
    for scored in truth_fields:
        tallies[scored.key].append(scored.correct)
    order = _key_order()
    ordered = sorted(tallies, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {key: _mean(tallies[key]) for key in ordered}


def _per_form_type(forms: Sequence[_ScoredForm]) -> dict[str, TypeFigures]:
    """Each form type's figures, its forms scored by their truth's type (an extra by its own)."""
    out: dict[str, TypeFigures] = {}
    for form_type in sorted({form.form_type for form in forms}):
        own = [form for form in forms if form.form_type == form_type]
        fields = [f for form in own for f in form.fields]
        truth = [f for f in fields if f.expected is not None]
        got = [(f, f.got) for f in fields if f.got is not None]
        out[form_type] = TypeFigures(
            truth_forms=sum(form.has_truth for form in own),
            output_forms=sum(form.has_output for form in own),
            field_accuracy=_field_accuracy(truth, len(got)),
            silent_error_rate=_ratio(sum(not f.correct and not g.review for f, g in got), len(got)),
            review_load=_ratio(sum(g.review for _, g in got), len(got)),
        )
    return out


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
