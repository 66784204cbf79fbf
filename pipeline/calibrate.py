"""`formscan calibrate`: each form type's confidence models refitted on a store's reviewed fields.

The labels are the reviewers': a field they confirmed was right, one they corrected was
wrong (by the scorer's rule, `audit.is_silent_error`). Every answered review field weighs 1;
an answered audit weighs 1/rate, standing for the straight-through fields not drawn, which
is what makes the high-confidence region honest: without audits the models would learn only
from the fields they already doubted. Straight-through fields never drawn have no label and
are left out, and so is a field a person fixed on the form page without a task: it was not
drawn at random.

The fit is `pipeline.calibration_fit`'s, drawn towards the calibration the store reads with
now (a few hundred answers adjust the models, they do not replace them). Before anything is
put to use, `Refit` says what it would change, on the store's own fields: the review load
over every current field, and the silent error rate over the labelled ones, weighted (the
new models' scores held out by document, so they do not flatter themselves). A refit is
written to `OUT/calibration/candidates/`; applied, it is `OUT/calibration/TYPE.json`, which
every later `formscan run --out OUT` scores with (`RunOptions.calibration_dir`), and its
version is on every record it scores.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from pipeline.audit import is_silent_error
from pipeline.calibration_fit import (
    Fit,
    FitOptions,
    LabelledField,
    effective_size,
    fit_calibration,
    labelled,
    labels_version,
)
from pipeline.confidence import (
    Calibration,
    form_signals,
    load_calibration,
    read_calibration,
    score_form,
)
from pipeline.form_spec import Template, known_form_types, load_template
from pipeline.readings import FieldReading, FormReading, field_path
from pipeline.store import Store
from pipeline.store.rows import AnsweredTask

CANDIDATES = "candidates"


class Change(BaseModel):
    """What a refitted calibration would change on the store's fields, before and after."""

    model_config = ConfigDict(frozen=True)

    fields: int = Field(description="Current fields of the form type.")
    review_before: float = Field(description="Share of them the calibration in use sends.")
    review_after: float
    labelled: int = Field(description="Fields a reviewer answered: review and audit tasks.")
    audited: int
    wrong: int = Field(description="Labelled fields the reviewer changed.")
    effective: float = Field(description="The labelled fields' weights as a sample size.")
    silent_before: float = Field(
        description="Weighted share of labelled fields wrong and let through by the "
        "calibration in use: the store's silent error rate, estimated."
    )
    silent_after: float = Field(description="The same under the new models, held out.")


class Refit(BaseModel):
    """One form type's refit: the new calibration and what it would change, or why not."""

    model_config = ConfigDict(frozen=True)

    form_type: str
    before: str = Field(description="The version the store's runs score with now.")
    calibration: Calibration | None = None
    change: Change | None = None
    refused: str | None = Field(default=None, description="Why it was not refitted.")


def applied_path(folder: Path, form_type: str) -> Path:
    """Where the calibration applied to a store is kept (`RunOptions.calibration_dir`)."""
    return folder / f"{form_type}.json"


def in_use(folder: Path, form_type: str) -> Calibration:
    """The calibration a run over this store scores `form_type` with now."""
    path = applied_path(folder, form_type)
    # Read afresh: `--apply` replaces the file, and `read_calibration` keeps what it read.
    return read_calibration.__wrapped__(path) if path.is_file() else load_calibration(form_type)


@dataclass(frozen=True)
class _Label:
    """A labelled field, where it is in the store, and whether it was an audit."""

    place: tuple[int, str]  # form id, field path
    field: LabelledField
    audit: bool


def refit_store(
    store: Store,
    folder: Path,
    options: FitOptions | None = None,
    form_types: Sequence[str] | None = None,
) -> list[Refit]:
    """Refit each form type's models on the store's answered tasks; write the candidates.

    A form type with too few labels is refused, with the reason. Nothing is applied here.
    """
    options = options or FitOptions()
    answered: dict[int, list[AnsweredTask]] = defaultdict(list)
    for task in store.answered_tasks():
        answered[task.form_id].append(task)
    types = list(form_types or known_form_types())
    templates = {t: load_template(t) for t in types}
    labels: dict[str, list[_Label]] = {t: [] for t in types}
    for stored in store.current_forms():
        tasks = answered.get(stored.form_id)
        template = templates.get(stored.form.form_type)
        if tasks and template is not None:
            labels[template.form_type] += _labelled(stored.form_id, stored.form, template, tasks)
    refits = []
    for form_type in types:
        before = in_use(folder, form_type)
        found = [label.field for label in labels[form_type]]
        audits = sum(label.audit for label in labels[form_type])
        refused = _too_few(found, audits, options)
        if refused:
            refits.append(Refit(form_type=form_type, before=before.version, refused=refused))
            continue
        fit = fit_calibration(
            found,
            version=labels_version("store", found),
            notes=f"refitted on {len(found)} reviewed fields of {store.url} ({audits} audits, "
            f"weighted 1/rate), from {before.version}; thresholds on {options.folds}-fold "
            f"held-out scores, target silent error {options.target_silent} at its upper "
            f"bound (z {options.z})",
            options=options,
            prior=before,
        )
        if fit.calibration.threshold >= 1.0:
            refits.append(
                Refit(
                    form_type=form_type,
                    before=before.version,
                    refused="no threshold keeps the silent error rate's upper bound within "
                    f"{options.target_silent} on the held-out scores: the new models would send "
                    "every field to review; answer more tasks, or allow a higher --target-silent",
                )
            )
            continue
        change = _change(store, templates[form_type], labels[form_type], fit, before)
        name = f"{form_type}@{fit.calibration.version}.json"
        write_calibration(folder / CANDIDATES / name, fit.calibration)
        refits.append(
            Refit(
                form_type=form_type,
                before=before.version,
                calibration=fit.calibration,
                change=change,
            )
        )
    return refits


def apply(folder: Path, refit: Refit) -> Path:
    """Make later runs over this store score `refit.form_type` with its new calibration."""
    assert refit.calibration is not None, "a refused refit has nothing to apply"
    path = applied_path(folder, refit.form_type)
    write_calibration(path, refit.calibration)
    return path


def write_calibration(path: Path, calibration: Calibration) -> None:
    """Write a calibration file, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(
        json.dumps(calibration.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    partial.replace(path)


def _labelled(
    form_id: int, form: FormReading, template: Template, tasks: Sequence[AnsweredTask]
) -> list[_Label]:
    """A form's answered fields, labelled and weighted, with its form's signals."""
    signals = form_signals(form, template)
    readings = dict(_placed(form))
    found = []
    for task in tasks:
        path = field_path(task.key, task.row)
        reading = readings.get(path)
        if reading is None or (task.audit and not task.rate):
            continue
        key = task.key if task.row is None else f"indicators.{task.key}"
        wrong = is_silent_error(task.form_type, task.key, task.row, task.value, task.corrected)
        weight = 1 / task.rate if task.audit and task.rate else 1.0
        field = labelled(
            reading, template.group_of(key), signals, not wrong, (task.document_id, ""), weight
        )
        found.append(_Label((form_id, path), field, task.audit))
    return found


def _too_few(fields: Sequence[LabelledField], audits: int, options: FitOptions) -> str | None:
    """Why a form type's labels are too few to refit on; None when they are enough."""
    wrong = sum(not f.correct for f in fields)
    size = effective_size([f.weight for f in fields])
    if len(fields) < options.min_group:
        return (
            f"too few labelled fields: {len(fields)}, and a model needs {options.min_group}; "
            "answer more review and audit tasks"
        )
    if wrong < options.min_wrong:
        return (
            f"too few wrong fields among the {len(fields)} labelled: {wrong}, and a model "
            f"needs {options.min_wrong} to learn what wrong looks like"
        )
    if audits == 0:
        return (
            "no answered audit: nothing labels the fields that go straight through; read "
            "with --audit-rate above 0 and answer the audit tasks"
        )
    if size < options.fields_needed:
        return (
            f"the {len(fields)} labelled fields weigh as {size:.0f} (effective sample size: "
            f"audits weigh 1/rate); showing a silent error rate under {options.target_silent} "
            f"needs at least {options.fields_needed:.0f}: answer more tasks, raise "
            "--audit-rate, or allow a higher --target-silent"
        )
    return None


def _change(
    store: Store, template: Template, labels: Sequence[_Label], fit: Fit, before: Calibration
) -> Change:
    """Review load over every current field, before and after; silent error over the labelled."""
    after = fit.calibration
    # Sent whatever the models say: a broken sum, no cell, a change the models never weighed.
    forced_only = after.model_copy(update={"threshold": 0.0, "thresholds": {}})
    total = review_before = review_after = 0
    sent_before: dict[tuple[int, str], bool] = {}
    forced: dict[tuple[int, str], bool] = {}
    for stored in store.current_forms():
        if stored.form.form_type != template.form_type:
            continue
        placed = _placed(stored.form)
        score_form(stored.form, template, before)
        sent_before |= {(stored.form_id, path): r.review for path, r in placed}
        score_form(stored.form, template, forced_only)
        forced |= {(stored.form_id, path): r.review for path, r in placed}
        score_form(stored.form, template, after)
        total += len(placed)
        review_before += sum(sent_before[(stored.form_id, path)] for path, _ in placed)
        review_after += sum(r.review for _, r in placed)
    weights = sum(label.field.weight for label in labels)
    silent_before = silent_after = 0.0
    for label, p in zip(labels, fit.held_out, strict=True):
        field = label.field
        if field.correct:
            continue
        if not sent_before[label.place]:
            silent_before += field.weight
        if not forced[label.place] and p >= field.threshold(after):
            silent_after += field.weight
    return Change(
        fields=total,
        review_before=review_before / total if total else 0.0,
        review_after=review_after / total if total else 0.0,
        labelled=len(labels),
        audited=sum(label.audit for label in labels),
        wrong=sum(not label.field.correct for label in labels),
        effective=effective_size([label.field.weight for label in labels]),
        silent_before=silent_before / weights if weights else 0.0,
        silent_after=silent_after / weights if weights else 0.0,
    )


def _placed(form: FormReading) -> list[tuple[str, FieldReading]]:
    """Every field of a form by its path."""
    placed = [(field_path(key, None), r) for key, r in form.fields.items()]
    for row, indicator in enumerate(form.indicators):
        placed += [(field_path(key, row), r) for key, r in indicator.items()]
    return placed
