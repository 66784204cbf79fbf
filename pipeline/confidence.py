"""Stage 7, confidence: the probability that a field's value is exactly right, and review.

A logistic model per field group over the evidence the reading stages gathered (recognition
and character scores, anchor and vocabulary matches, seal disagreement, failed rules, …).
Its weights and the review threshold are fitted (`pipeline.calibration_fit`) by
`scripts/fit_calibration.py` on generated pages whose seeds are kept apart from those
reported on, and stored per form type in `models/calibration/FORM_TYPE.json`; `formscan
calibrate` refits them on a store's reviewed fields. A field goes to review when its
confidence is below the threshold, when a rule that no rightly read form breaks (the funds
sum) failed on it, when no cell was found for it (`unsupported`), or when the lexicon
changed its value and the calibration never weighed such a change (`unfitted_change`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.form_spec import Template
from pipeline.readings import SURE_VOCAB, Evidence, FieldReading, FormReading

CALIBRATION_DIR = Path(__file__).resolve().parent.parent / "models" / "calibration"
# The form type whose models score a type that has none of its own yet; records say so.
FALLBACK_FORM_TYPE = "budget_performance_approval"


def calibration_path(form_type: str) -> Path:
    """Where a form type's fitted calibration is kept."""
    return CALIBRATION_DIR / f"{form_type}.json"


FEATURES: tuple[str, ...] = (
    "bias",
    "rec_logit",
    "char_logit",
    "anchor_miss",
    "vocab_miss",
    "blank",
    "not_found",
    "multi_line",
    "seal",
    "seal_disagrees",
    "inherited",
    "rule_failed",
    "empty",
    "length",
    "form_blocks_missing",
    "form_fields_missing",
    "form_rows_doubtful",
    "form_values_blank",
    "form_rec_doubt",
    "form_rec_low",
    "placed_by_order",
    # From the lexicon (`pipeline.lexicon`): the value read is a known one; the edits over
    # the value's length of the known value offered in its place (0: none offered).
    "lexicon_exact",
    "lexicon_distance",
)
# The features of the models fitted before the lexicon: what `UNFITTED` and the shipped
# calibrations weigh.
BASE_FEATURES: tuple[str, ...] = FEATURES[: FEATURES.index("lexicon_exact")]
# Features saying that a stage changed the value read. A calibration that does not list one
# (fitted before it existed, or on fields where it never varied: `pipeline.calibration_fit`
# lists only the features it saw) cannot say how far such a change is to be trusted, so a
# field it changed goes to review.
CHANGE_FEATURES: tuple[str, ...] = ("lexicon_distance",)


class FormSignals(NamedTuple):
    """How whole and how legible a form came out (`form_signals`).

    The shares, in [0, 1], are features of every field; `photo`, a form read from phone
    photos, picks the models that score them.
    """

    blocks_missing: float = 0.0
    fields_missing: float = 0.0
    rows_doubtful: float = 0.0
    values_blank: float = 0.0
    rec_doubt: float = 0.0
    rec_low: float = 0.0
    photo: bool = False


NO_FORM_SIGNALS = FormSignals()
# A line the recogniser scores below this is one it struggled with; a whole form may have at
# most this share of them.
UNSURE_LINE = 0.9
WHOLE_UNSURE = 0.1
# The most a field with no cell behind it, read two ways that differ, or read on a page whose
# grid has more columns than the form prints, may be trusted.
NO_EVIDENCE = 0.5


def condition_of(form: FormSignals) -> str:
    """`whole` for a form that came out entire and legible, else `damaged`; `-photo` added.

    The suffix marks a form read from phone photos.
    The two fail in different ways: on a whole form a wrong field is a misread character,
    on a damaged one whole cells and rows are lost or run together. Each has its own models.
    A photo is damaged in other ways than a worn scan (blur, perspective, shade rather than
    broken lines and noise), so its evidence means something else too.
    """
    whole = (
        form.blocks_missing == 0
        and form.fields_missing == 0
        and form.rows_doubtful == 0
        and form.rec_low <= WHOLE_UNSURE
    )
    return ("whole" if whole else "damaged") + ("-photo" if form.photo else "")


def model_names(group: str, form: FormSignals) -> tuple[str, ...]:
    """The models that may score a field of `group` (`Template.group_of`), most specific first.

    A field group on forms of one condition; all groups on forms of that condition (whole
    forms have too few wrong fields per group to fit on); the same two without telling
    photos from scans; the group; everything.
    """
    condition = condition_of(form)
    names = [f"{group}|{condition}", condition]
    if form.photo:
        scanned = condition_of(form._replace(photo=False))
        names += [f"{group}|{scanned}", scanned]
    return (*names, group, "default")


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def form_signals(form: FormReading, template: Template) -> FormSignals:
    """How whole and how legible a form came out, against what its type prints.

    Shares of its 二级 blocks and scalar fields not found, and of its indicator rows with a
    failed check or an unsure 二级 name. A page whose grid or OCR failed loses or garbles
    whole blocks of rows; every field of such a form is less trustworthy than the same
    reading on a form that came out whole. The recognition scores of every field read on the
    form: a worn or noisy scan lowers them all, so their mean and the share of unsure ones
    tell a clean page from a damaged one, whatever one field's own score says.
    """
    rows, spec = form.indicators, template.indicators
    blocks = template.level2_names if spec.all_blocks else []
    level2, name, value = spec.key_of("level2") or "", spec.key_of("name"), spec.key_of("value")
    level2_values = {row[level2].value for row in rows if level2 in row}
    found = [r.evidence.found for r in form.fields.values()]
    doubtful = sum(
        any(r.evidence.rule_failures for r in row.values())
        or (level2 in row and row[level2].evidence.vocab_score < SURE_VOCAB)
        for row in rows
    )
    # Filled forms leave few 指标值 blank beyond the `指标1: 无` lines; a lost value column
    # leaves them all blank.
    named = [row for row in rows if value in row and name in row]
    scores = [
        e.rec_score
        for _, r in form.all_fields()
        if (e := r.evidence).found and not e.blank and not e.inherited
    ]
    return FormSignals(
        blocks_missing=len(set(blocks) - level2_values) / max(1, len(blocks)),
        fields_missing=sum(not f for f in found) / max(1, len(found)),
        rows_doubtful=doubtful / max(1, len(rows)),
        values_blank=sum(row[value or ""].evidence.blank for row in named) / max(1, len(named)),
        rec_doubt=float(np.mean([1.0 - s for s in scores])) if scores else 0.0,
        rec_low=sum(s < UNSURE_LINE for s in scores) / max(1, len(scores)),
        photo=any(r.evidence.photo for _, r in form.all_fields()),
    )


def features(
    evidence: Evidence,
    value: str,
    form: FormSignals = NO_FORM_SIGNALS,
    names: Sequence[str] = FEATURES,
) -> np.ndarray:
    """The feature vector of one field, in the order of `names` (a calibration's features)."""
    every = dict(zip(FEATURES, _all_features(evidence, value, form), strict=True))
    return np.array([every[name] for name in names])


def _all_features(evidence: Evidence, value: str, form: FormSignals) -> list[float]:
    """Every feature of one field, in the order of `FEATURES`."""
    return [
        1.0,
        _logit(evidence.rec_score),
        _logit(evidence.char_min),
        1.0 - evidence.anchor_score,
        1.0 - evidence.vocab_score,
        float(evidence.blank),
        float(not evidence.found),
        float(evidence.lines > 1),
        float(evidence.seal),
        float(evidence.seal_disagrees),
        float(evidence.inherited),
        float(bool(evidence.rule_failures)),
        float(value == ""),
        math.log1p(len(value)),
        form.blocks_missing,
        form.fields_missing,
        form.rows_doubtful,
        form.values_blank,
        form.rec_doubt,
        form.rec_low,
        float(evidence.placed_by_order),
        float(evidence.lexicon_exact),
        evidence.lexicon.distance if evidence.lexicon is not None else 0.0,
    ]


class GroupModel(BaseModel):
    """Logistic weights of one field group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: list[float]
    fitted_on: int = Field(default=0, description="Fields it was fitted on.")


class Calibration(BaseModel):
    """The fitted confidence models and the review threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    features: list[str]
    groups: dict[str, GroupModel]
    threshold: float = Field(ge=0.0, le=1.0)
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Thresholds of the form conditions (`condition_of`) with fields enough "
        "to have their own; the others take `threshold`.",
    )
    group_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Thresholds of a field group on forms of one condition (`GROUP|CONDITION`, "
        "as `model_names` names its model) with fields enough to have their own; the others "
        "take their condition's.",
    )
    notes: str = ""

    def threshold_of(self, form: FormSignals, group: str | None = None) -> float:
        """The review threshold of a field of `group` on a form of this condition."""
        return self.threshold_in(condition_of(form), group)

    def threshold_in(self, condition: str, group: str | None = None) -> float:
        """The review threshold of a field of `group` on forms of `condition`."""
        own = self.group_thresholds.get(f"{group}|{condition}") if group is not None else None
        return own if own is not None else self.thresholds.get(condition, self.threshold)


# Before a model is fitted: trust only what the recogniser is sure of, send the rest.
UNFITTED = Calibration(
    version="unfitted",
    features=list(BASE_FEATURES),
    groups={
        "default": GroupModel(
            # One weight per feature, in the order of FEATURES.
            weights=[1.0, 0.6, 0.3, -4.0, -4.0, 0.0, -6.0, -0.5, -1.0, -3.0, -1.0, -3.0, 0.0]
            + [0.0, -8.0, -8.0, -4.0, -2.0, 0.0, 0.0, -1.0]
        )
    },
    threshold=0.9,
)


def load_calibration(form_type: str = FALLBACK_FORM_TYPE) -> Calibration:
    """A form type's fitted calibration; a type with none is scored by the fallback type's.

    The version then names both, so every record says which models scored it.
    """
    own = calibration_path(form_type)
    if own.is_file():
        return read_calibration(own)
    fallback = read_calibration(calibration_path(FALLBACK_FORM_TYPE))
    return fallback.model_copy(update={"version": f"{fallback.version}@{FALLBACK_FORM_TYPE}"})


@cache
def read_calibration(path: Path) -> Calibration:
    """A fitted calibration file, or the unfitted fallback when there is none."""
    if not path.is_file():
        return UNFITTED
    calibration = Calibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
    unknown = [name for name in calibration.features if name not in FEATURES]
    uneven = [
        name
        for name, model in calibration.groups.items()
        if len(model.weights) != len(calibration.features)
    ]
    if unknown or uneven:
        raise ValueError(
            f"{path}: fitted on other features ({', '.join(unknown) or 'weights per group'}); "
            "run scripts/fit_calibration.py or formscan calibrate again"
        )
    return calibration


def unfitted_change(evidence: Evidence, calibration: Calibration) -> bool:
    """Whether a stage changed the field's value in a way `calibration` never weighed."""
    changed = {"lexicon_distance": evidence.lexicon is not None}
    return any(changed[name] and name not in calibration.features for name in CHANGE_FEATURES)


def probability(
    calibration: Calibration,
    group: str,
    reading: FieldReading,
    form: FormSignals = NO_FORM_SIGNALS,
) -> float:
    """Calibrated P(value exactly right) of one field of `group` (`Template.group_of`).

    `form` is `form_signals` of its form.
    """
    model = next(
        (calibration.groups[n] for n in model_names(group, form) if n in calibration.groups),
        next(iter(calibration.groups.values())),
    )
    x = features(reading.evidence, reading.value, form, calibration.features)
    z = float(np.dot(model.weights, x))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def score_form(
    form: FormReading, template: Template, calibration: Calibration | None = None
) -> None:
    """Set each field's confidence and review flag in place; `template` is the form's type."""
    calibration = calibration or load_calibration(template.form_type)
    signals = form_signals(form, template)
    for key, reading in form.all_fields():
        evidence = reading.evidence
        group = template.group_of(key)
        confidence = probability(calibration, group, reading, signals)
        if doubted(evidence):
            confidence = min(confidence, NO_EVIDENCE)
        reading.confidence = round(confidence, 4)
        # A value the lexicon offered is taken as read only by models that have weighed
        # such offers.
        reading.review = (
            reading.confidence < calibration.threshold_of(signals, group)
            or sent_whatever_its_score(evidence)
            or unfitted_change(evidence, calibration)
        )
    spec = template.indicators
    name, value, level2 = spec.key_of("name"), spec.key_of("value"), spec.key_of("level2")
    for row in form.indicators:
        _doubt_row_of_doubtful_name(row, name or "", value or "")
        if spec.line_label is None and level2 is not None and level2 in row:
            _doubt_row_of_doubtful_block(row, row[level2])


def _doubt_row_of_doubtful_block(row: dict[str, FieldReading], level2: FieldReading) -> None:
    """Send a row to review whole when its 二级 block is in doubt, on a form that numbers none.

    Such a row is known by its block and its place in it: in another block it is another
    row of the record, each of its values beside the wrong name, however surely read.
    """
    if not level2.review:
        return
    for reading in row.values():
        reading.review = True
    row["seq"].confidence = min(row["seq"].confidence, level2.confidence)


def _doubt_row_of_doubtful_name(
    row: dict[str, FieldReading], name_key: str, value_key: str
) -> None:
    """Send a whole row to review when its name is in doubt and its value is blank.

    Such a row may be no row at all: a pen's stroke or specks on an empty 指标N line, read
    as a name. Its place in the table (一级, 二级, the printed number) and its blank value are
    read surely, and would go through as a row the form does not have.
    """
    name, value = row.get(name_key), row.get(value_key)
    if name is None or value is None or not name.review or value.value:
        return
    for reading in row.values():
        reading.review = True


def doubted(evidence: Evidence) -> bool:
    """Whether a value has nothing behind it: never taken as read.

    Nothing on the page vouches for it (`unsupported`), a second reading differs, or the
    page says its cell may not be its own.
    """
    return unsupported(evidence) or evidence.second_disagrees or evidence.grid_doubtful


def sent_whatever_its_score(evidence: Evidence) -> bool:
    """Whether a field goes to review however sure its reading looks.

    A broken rule says one of the fields it ties is wrong; a doubted field has nothing
    behind it. No threshold decides these, so none is chosen on them (`calibration_fit`).
    """
    return evidence.contradicted or doubted(evidence)


def unsupported(evidence: Evidence) -> bool:
    """Whether a field has no cell behind its value: its place, or its column, was not found.

    The models learn from generated forms, where a field not found is mostly a blank that is
    right; on a form printed another way a lost cell or column is a value lost. Nothing on
    the page vouches for such a value, so it is never taken as read.
    """
    return not evidence.found or evidence.column_lost
