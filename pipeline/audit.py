"""Audit sampling, and the silent error rate estimated from what the audits found.

Every accuracy figure is measured on generated scans; an archive's own scans have no truth.
As in data-entry QC, a run sends a random share of the fields that would go straight through
to the review queue, looking like any other task. A reviewer who changes such a field has
found a silent error; one who confirms it has verified a right field.

The draw: each field has a fixed number in [0, 1), from the SHA-256 of its document's hash,
its form's order and its path, and is audited when that number is under the rate. The same
document draws the same fields at a given rate (a rerun or a resumed run too), a higher rate
draws a superset, and no field's draw depends on what else the run read.

The estimate is stratified by form type and field kind (the confidence model's groups:
year, text, amount, indicators.KEY): each stratum's rate is the weighted share of its
answered audits that were wrong (weights 1/rate, so strata or runs sampled at other rates
mix rightly), and the strata are weighted by their share of straight-through fields. Its
95% interval is Clopper–Pearson on the effective sample size (Korn and Graubard 1998):
conservative where errors are rare, which they are.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from pipeline.evaluate import values_match
from pipeline.form_spec import field_group, is_numeric
from pipeline.readings import AuditDraw, FieldReading, FormReading, field_path

DEFAULT_RATE = 0.01  # one straight-through field in a hundred: ~0.5 per form of 55 fields
LEVEL = 0.95
_BISECTIONS = 60  # the interval's ends to 1e-18: far below any rate worth telling apart


class Stratum(NamedTuple):
    """Where a field is counted: its form type and its kind."""

    form_type: str
    kind: str

    @property
    def label(self) -> str:
        """`FORM_TYPE:KIND`, as status and the admin page name it."""
        return f"{self.form_type}:{self.kind}"


def stratum_of(form_type: str, key: str, row: int | None) -> Stratum:
    """A field's stratum: its kind is the confidence model's group (`Template.group_of`)."""
    return Stratum(form_type, field_group(form_type, key if row is None else f"indicators.{key}"))


def draw(sha256: str, seq: int, path: str) -> float:
    """The field's fixed number in [0, 1): audited when it is under the rate."""
    digest = hashlib.sha256(f"formscan-audit\n{sha256}\n{seq}\n{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def audit_fields(
    forms: Sequence[FormReading], sha256: str, rate: float
) -> dict[tuple[int, str], AuditDraw]:
    """The straight-through fields of a document's forms drawn for audit, with their strata.

    Keyed like the crops, by (form order, field path).
    """
    drawn: dict[tuple[int, str], AuditDraw] = {}
    if rate <= 0:
        return drawn
    for seq, form in enumerate(forms):
        placed: list[tuple[int | None, str, FieldReading]] = [
            (None, key, reading) for key, reading in form.fields.items()
        ]
        for number, indicator in enumerate(form.indicators):
            placed += [(number, key, reading) for key, reading in indicator.items()]
        for row, key, reading in placed:
            path = field_path(key, row)
            if not reading.review and draw(sha256, seq, path) < rate:
                stratum = stratum_of(form.form_type, key, row)
                drawn[(seq, path)] = AuditDraw(stratum=stratum.label, rate=rate)
    return drawn


def is_silent_error(
    form_type: str, key: str, row: int | None, ocr_value: str, reviewer_value: str
) -> bool:
    """Whether a reviewer's value for an audited field says the reading was wrong.

    By the scorer's rule (`values_match`), so a spelling it ignores is no error.
    """
    numeric = is_numeric(form_type, key if row is None else f"indicators.{key}")
    return not values_match(reviewer_value, ocr_value, numeric)


@dataclass(frozen=True)
class StratumSize:
    """The fields a stratum holds, and how many of them went straight through."""

    fields: int
    straight_through: int


@dataclass(frozen=True)
class AuditAnswer:
    """One answered audit: its stratum, the rate it was drawn at, and whether it was wrong."""

    stratum: Stratum
    rate: float
    error: bool


class Estimate(BaseModel):
    """The silent error rate estimated from audits, with its 95% interval.

    `rate`, `low` and `high` are per field read, as the scorer's silent error rate (wrong
    fields not sent to review, over all fields); `straight_through_rate` is per
    straight-through field. Strata without an answered audit (`unaudited_share` of the
    straight-through fields) are taken to be as wrong as the audited ones. Rates are None
    when no audit has been answered.
    """

    model_config = ConfigDict(frozen=True)

    rate: float | None
    low: float | None
    high: float | None
    straight_through_rate: float | None
    audited: int = Field(description="Answered audits the estimate rests on.")
    errors: int = Field(description="Audited fields a reviewer changed: silent errors found.")
    fields: int
    straight_through: int
    unaudited_share: float
    interval: str = "Clopper-Pearson 95%, effective sample size (Korn-Graubard), stratified"


def estimate(
    sizes: Mapping[Stratum, StratumSize], answers: Sequence[AuditAnswer], level: float = LEVEL
) -> Estimate:
    """The stratified estimate of the silent error rate over the strata in `sizes`."""
    fields = sum(s.fields for s in sizes.values())
    straight = sum(s.straight_through for s in sizes.values())
    by_stratum: dict[Stratum, list[AuditAnswer]] = {}
    for answer in answers:
        if answer.stratum in sizes and answer.rate > 0:
            by_stratum.setdefault(answer.stratum, []).append(answer)
    audited_straight = sum(sizes[s].straight_through for s in by_stratum)
    empty = Estimate(
        rate=None,
        low=None,
        high=None,
        straight_through_rate=None,
        audited=0,
        errors=0,
        fields=fields,
        straight_through=straight,
        unaudited_share=1.0 if straight else 0.0,
    )
    if not by_stratum or audited_straight == 0:
        return empty.model_copy(update={"audited": sum(map(len, by_stratum.values()))})
    rate, variance = 0.0, 0.0
    for stratum, found in by_stratum.items():
        share = sizes[stratum].straight_through / audited_straight
        p, v = _weighted_rate(found)
        rate += share * p
        variance += share**2 * v
    audited = sum(len(found) for found in by_stratum.values())
    # Korn-Graubard: the binomial sample that would have this variance, never more than
    # were audited; with no spread at all (no error found), the audits themselves.
    effective = float(audited)
    if variance > 0 and 0 < rate < 1:
        effective = min(effective, rate * (1 - rate) / variance)
    low, high = clopper_pearson(rate * effective, effective, level)
    scale = straight / fields if fields else 0.0
    return Estimate(
        rate=rate * scale,
        low=low * scale,
        high=high * scale,
        straight_through_rate=rate,
        audited=audited,
        errors=sum(a.error for found in by_stratum.values() for a in found),
        fields=fields,
        straight_through=straight,
        unaudited_share=1 - audited_straight / straight if straight else 0.0,
    )


def estimates_by(
    sizes: Mapping[Stratum, StratumSize],
    answers: Sequence[AuditAnswer],
    part: Callable[[Stratum], str],
    level: float = LEVEL,
) -> dict[str, Estimate]:
    """The estimate of each part of the store (by kind, by form type, by stratum), by name."""
    names = sorted({part(s) for s in sizes})
    return {
        name: estimate(
            {s: size for s, size in sizes.items() if part(s) == name},
            [a for a in answers if part(a.stratum) == name],
            level,
        )
        for name in names
    }


def _weighted_rate(answers: Sequence[AuditAnswer]) -> tuple[float, float]:
    """A stratum's rate (weights 1/rate) and its variance, linearised as for a ratio."""
    weights = [1 / a.rate for a in answers]
    total = sum(weights)
    rate = sum(w for w, a in zip(weights, answers, strict=True) if a.error) / total
    variance = sum(
        (w / total) ** 2 * (a.error - rate) ** 2 for w, a in zip(weights, answers, strict=True)
    )
    return rate, variance


def clopper_pearson(errors: float, n: float, level: float = LEVEL) -> tuple[float, float]:
    """The Clopper–Pearson interval for `errors` in `n`; both may be fractional (weighted)."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1 - level) / 2
    low = 0.0 if errors <= 0 else _beta_quantile(tail, errors, n - errors + 1)
    high = 1.0 if errors >= n else _beta_quantile(1 - tail, errors + 1, n - errors)
    return low, high


def _beta_quantile(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q, by bisection (I is increasing in x)."""
    lo, hi = 0.0, 1.0
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        if _regularized_beta(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the Beta(a, b) distribution function, by its continued fraction."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast for x below the mean; above it, use I_x(a,b) = 1 - I_1-x(b,a).
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(x, a, b) / a
    return 1 - front * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1) < eps:
            break
    return result
