"""The store's figures for a person: review load, audits and the estimated silent error rate.

What `formscan status` prints (and `--json` gives whole) and the admin page shows. The
estimate itself is `pipeline.audit`'s; this module only gathers its inputs from the store.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

from pipeline.audit import (
    AuditAnswer,
    Estimate,
    Stratum,
    StratumSize,
    estimate,
    estimates_by,
    is_silent_error,
    stratum_of,
)
from pipeline.store import Store


class AuditCounts(BaseModel):
    """The store's audit tasks by what became of them."""

    model_config = ConfigDict(frozen=True)

    answered: int = Field(description="Confirmed or changed by a reviewer.")
    errors: int = Field(description="Changed: silent errors found.")
    pending: int = Field(description="Still open.")
    unreadable: int = Field(description="Closed as unreadable: in no estimate.")


class StoreFigures(BaseModel):
    """Fields, review load, audits and the silent error estimate of the store's current forms."""

    model_config = ConfigDict(frozen=True)

    fields: int
    review: int = Field(description="Fields sent to review by their confidence or a rule.")
    review_load: float
    audits: AuditCounts
    silent_error_estimate: Estimate
    by_kind: dict[str, Estimate]
    by_form_type: dict[str, Estimate]
    by_stratum: dict[str, Estimate] = Field(description="By `FORM_TYPE:KIND`.")


def store_figures(store: Store) -> StoreFigures:
    """Count the store's fields and audits and estimate its silent error rate."""
    fields: Counter[Stratum] = Counter()
    straight: Counter[Stratum] = Counter()
    review = 0
    for count in store.field_counts():
        stratum = stratum_of(count.form_type, count.key, 0 if count.indicator else None)
        fields[stratum] += count.count
        if count.review:
            review += count.count
        else:
            straight[stratum] += count.count
    sizes = {s: StratumSize(fields=n, straight_through=straight[s]) for s, n in fields.items()}
    answers: list[AuditAnswer] = []
    states: Counter[str] = Counter()
    for task in store.audit_tasks():
        if task.state == "done" and task.corrected is not None:
            error = is_silent_error(task.form_type, task.key, task.row, task.value, task.corrected)
            stratum = stratum_of(task.form_type, task.key, task.row)
            answers.append(AuditAnswer(stratum, task.rate, error))
            states["errors"] += error
            states["answered"] += 1
        elif task.state == "unreadable":
            states["unreadable"] += 1
        else:
            states["pending"] += 1
    total = sum(fields.values())
    return StoreFigures(
        fields=total,
        review=review,
        review_load=review / total if total else 0.0,
        audits=AuditCounts(**{k: states[k] for k in AuditCounts.model_fields}),
        silent_error_estimate=estimate(sizes, answers),
        by_kind=estimates_by(sizes, answers, lambda s: s.kind),
        by_form_type=estimates_by(sizes, answers, lambda s: s.form_type),
        by_stratum=estimates_by(sizes, answers, lambda s: s.label),
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def describe(found: Estimate) -> str:
    """One estimate in a line: rate, interval, what it rests on."""
    if found.rate is None:
        return f"no answered audit yet ({found.straight_through:,} straight-through fields)"
    return (
        f"{_percent(found.rate)} of fields read (95% {_percent(found.low)}–"
        f"{_percent(found.high)}), {found.errors} wrong of {found.audited} audited"
    )


def figures_lines(figures: StoreFigures) -> list[str]:
    """The figures as `formscan status` prints them."""
    found = figures.silent_error_estimate
    audits = figures.audits
    lines = [
        f"review load: {figures.review:,} of {figures.fields:,} fields "
        f"({figures.review_load:.2%}) sent to review",
        f"audits: {audits.answered} answered ({audits.errors} changed: silent errors found), "
        f"{audits.pending} pending, {audits.unreadable} unreadable",
        f"silent error rate, estimated: {describe(found)}",
    ]
    if found.rate is not None:
        lines.append(
            f"  {_percent(found.straight_through_rate)} of straight-through fields; "
            f"interval: {found.interval}"
        )
        lines.append(
            "  strata (form type, field kind) weighted by their share of straight-through fields"
            + (
                f"; {found.unaudited_share:.1%} of those are in strata not yet audited"
                if found.unaudited_share
                else ""
            )
        )
    if len(figures.by_form_type) > 1:
        lines.append("  by form type:")
        lines += [f"    {name}: {describe(e)}" for name, e in figures.by_form_type.items()]
    lines.append("  by field kind:")
    lines += [f"    {name}: {describe(e)}" for name, e in figures.by_kind.items()]
    return lines
