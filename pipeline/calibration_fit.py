"""Fitting the confidence models and their review thresholds on labelled fields.

The one fitting core behind `scripts/fit_calibration.py` (generated sets, each field labelled
by its truth) and `formscan calibrate` (a store's fields, labelled by its reviewers:
`pipeline.calibrate`). A field carries a weight: 1 for a field that was labelled because it
was there (every field of a generated set, every review field of a store), 1/rate for an
audit drawn at that rate, which stands for the straight-through fields not drawn. Weighted
so, the labelled fields are a fair sample of all fields read, high-confidence ones too.

Each field trains its most specific model and every broader one (`model_names`); a model is
kept where it has fields enough, and wrong ones enough, to learn from. The thresholds are
chosen on scores that no model saw its field's document for (folds by document), as the
lowest at which the silent error rate's upper bound (Wilson, on the effective sample size
of the weights) stays within the target; the models kept are then fitted on all of it.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.confidence import (
    BASE_FEATURES,
    FEATURES,
    Calibration,
    FormSignals,
    GroupModel,
    condition_of,
    features,
    model_names,
    sent_whatever_its_score,
)
from pipeline.readings import FieldReading

MIN_GROUP = 200  # fields; a smaller group shares a broader model
MIN_WRONG = 5  # a group with fewer wrong fields cannot learn what wrong looks like
# A feature added after the shipped models (the lexicon's) is fitted only once this many
# labelled fields show it: a model that never saw it vary would weigh it by chance, and a
# calibration without it keeps sending the fields it marks to review (`CHANGE_FEATURES`).
MIN_SEEN = 30


class FitOptions(BaseModel):
    """How the models and thresholds are fitted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_silent: float = Field(
        default=0.002, gt=0, lt=1, description="Highest silent error rate allowed."
    )
    z: float = Field(
        default=1.645,
        ge=0,
        description="The threshold keeps the silent rate's upper bound at this many standard "
        "errors (Wilson) within the target: 1.645, one-sided 95%.",
    )
    folds: int = Field(default=5, ge=2, description="Folds by document for held-out scores.")
    l2: float = Field(default=1.0, ge=0, description="Ridge penalty of the logistic fits.")
    min_group: int = Field(default=MIN_GROUP, ge=1, description="Fields a model needs.")
    min_wrong: int = Field(default=MIN_WRONG, ge=1, description="Wrong fields a model needs.")

    @property
    def fields_needed(self) -> float:
        """The effective fields a threshold needs for a rate under the target to be shown.

        With no error at all among n fields, Wilson's upper bound is about z²/n: below that
        many, no threshold lets anything through, however good the models.
        """
        return self.z**2 / self.target_silent


@dataclass(frozen=True)
class LabelledField:
    """One labelled field: the models that may score it, its condition, its features."""

    names: tuple[str, ...]
    condition: str
    x: np.ndarray  # every feature, in the order of FEATURES
    correct: bool
    document: tuple[int, str]  # fields of one document share a fold: (set or id, file)
    weight: float = 1.0
    group: str = "default"  # `Template.group_of`
    forced: bool = False  # sent to review whatever its score (`sent_whatever_its_score`)

    def threshold(self, calibration: Calibration) -> float:
        """The threshold `calibration` holds this field to."""
        return calibration.threshold_in(self.condition, self.group)


def labelled(
    reading: FieldReading,
    group: str,
    signals: FormSignals,
    correct: bool,
    document: tuple[int, str],
    weight: float = 1.0,
) -> LabelledField:
    """A field of `group` (`Template.group_of`) on a form of `signals`, labelled."""
    return LabelledField(
        names=model_names(group, signals),
        condition=condition_of(signals),
        x=features(reading.evidence, reading.value, signals),
        correct=correct,
        document=document,
        weight=weight,
        group=group,
        forced=sent_whatever_its_score(reading.evidence),
    )


def labels_version(prefix: str, fields: Sequence[LabelledField]) -> str:
    """A calibration's version, `PREFIX-DATE-N-DIGEST`, from the fields it is fitted on.

    The same fields on one day give the same version, and other fields another, even as
    many of them on the same day: records name it, and a run reads older ones again.
    """
    digest = hashlib.sha256()
    for field in fields:
        digest.update(f"{field.document}\t{field.correct}\t{field.weight}\t".encode())
        digest.update(field.x.tobytes())
    return f"{prefix}-{date.today().isoformat()}-{len(fields)}-{digest.hexdigest()[:6]}"


@dataclass(frozen=True)
class Fit:
    """A fitted calibration, with each field's held-out score, in the order of the fields."""

    calibration: Calibration
    held_out: list[float]

    def review_load(self, fields: Sequence[LabelledField]) -> float:
        """The weighted share of `fields` their held-out scores send to review."""
        total = sum(f.weight for f in fields)
        sent = sum(
            f.weight
            for f, p in zip(fields, self.held_out, strict=True)
            if f.forced or p < f.threshold(self.calibration)
        )
        return sent / total if total else 0.0

    def silent_error(self, fields: Sequence[LabelledField]) -> float:
        """The weighted share of `fields` wrong and let through by their held-out scores."""
        total = sum(f.weight for f in fields)
        silent = sum(
            f.weight
            for f, p in zip(fields, self.held_out, strict=True)
            if not f.correct and not f.forced and p >= f.threshold(self.calibration)
        )
        return silent / total if total else 0.0


def fitted_features(fields: Sequence[LabelledField], min_seen: int = MIN_SEEN) -> list[str]:
    """The shipped models' features, and each later one that `min_seen` fields show."""
    later = [name for name in FEATURES if name not in BASE_FEATURES]
    seen = [
        name for name in later if sum(f.x[FEATURES.index(name)] != 0 for f in fields) >= min_seen
    ]
    return [name for name in FEATURES if name in BASE_FEATURES or name in seen]


def fit_calibration(
    fields: Sequence[LabelledField],
    version: str,
    notes: str,
    options: FitOptions | None = None,
    prior: Calibration | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Fit:
    """Fit the models on `fields` and choose their thresholds on held-out scores.

    `prior`, where given, is what each model is drawn towards (its ridge penalty is on the
    distance from the prior's model of the same name, or the one that would score it): a few
    hundred reviewed fields then adjust a model fitted on many more, instead of replacing
    it. `say` hears which models were fitted and each condition's threshold.
    """
    options = options or FitOptions()
    names = fitted_features(fields)
    columns = [FEATURES.index(name) for name in names]
    # The models see only the features fitted; the held-out scores, the same.
    fields = [replace(f, x=f.x[columns]) for f in fields]
    groups = _fit_groups(fields, names, options, prior, say)
    documents = sorted({f.document for f in fields})
    fold_of = {document: i % options.folds for i, document in enumerate(documents)}
    held_out = [0.0] * len(fields)
    for fold in range(options.folds):
        fitted = _fit_groups(
            [f for f in fields if fold_of[f.document] != fold], names, options, prior
        )
        for index, field in enumerate(fields):
            if fold_of[field.document] == fold:
                held_out[index] = _probability(fitted, field)
    # A field that goes to review whatever its score is no threshold's to let through: the
    # thresholds are chosen on the others.
    scored = [
        (p, f.correct, f.weight) for p, f in zip(held_out, fields, strict=True) if not f.forced
    ]
    kept = [f for f in fields if not f.forced]
    threshold = choose_threshold(scored, options.target_silent, options.z)
    # The target holds for each condition of form, not only over all fields: damaged forms
    # are few beside whole ones, and would otherwise carry most of the silent errors; and a
    # condition whose fields separate better than the pool's needs less review. So it does
    # for each field group on forms of a condition: a figure read surely is seldom wrong, a
    # long prose cell often by a mark, and one threshold for both sends the figures to
    # review for the prose's sake. Where too few fields are there for the bound to let any
    # through, the broader threshold holds.
    thresholds = _thresholds_by(
        kept, scored, lambda f: f.condition, options, lambda _: threshold, say
    )
    group_thresholds = _thresholds_by(
        kept,
        scored,
        lambda f: f"{f.group}|{f.condition}",
        options,
        lambda key: thresholds.get(key.split("|")[-1], threshold),
        say,
    )
    calibration = Calibration(
        version=version,
        features=names,
        groups=groups,
        threshold=threshold,
        thresholds=thresholds,
        group_thresholds=group_thresholds,
        notes=notes,
    )
    return Fit(calibration, held_out)


def _thresholds_by(
    fields: Sequence[LabelledField],
    scored: Sequence[tuple[float, bool, float]],
    key: Callable[[LabelledField], str],
    options: FitOptions,
    broader: Callable[[str], float],
    say: Callable[[str], None],
) -> dict[str, float]:
    """Thresholds of the fields by `key`, for each key with fields enough of its own.

    A key with too few for the bound to let any through keeps the `broader` threshold.
    """
    by_key: dict[str, list[tuple[float, bool, float]]] = defaultdict(list)
    for item, field in zip(scored, fields, strict=True):
        by_key[key(field)].append(item)
    thresholds = {}
    for name, items in sorted(by_key.items()):
        size = effective_size([w for _, _, w in items])
        if len(items) >= options.min_group and size >= options.fields_needed:
            thresholds[name] = choose_threshold(items, options.target_silent, options.z)
        own = thresholds.get(name, broader(name))
        say(f"{name:28} {len(items):6} fields: threshold {own:.4f}")
    return thresholds


def _fit_groups(
    fields: Sequence[LabelledField],
    names: Sequence[str],
    options: FitOptions,
    prior: Calibration | None,
    say: Callable[[str], None] = lambda _: None,
) -> dict[str, GroupModel]:
    """A model for every name with enough fields, and enough wrong ones, to fit on."""
    by_model: dict[str, list[LabelledField]] = defaultdict(list)
    for field in fields:
        for name in field.names:
            by_model[name].append(field)
    groups = {
        "default": _fit(by_model["default"], names, options.l2, _prior(prior, "default", names))
    }
    for name, items in sorted(by_model.items()):
        wrong = sum(not f.correct for f in items)
        if name != "default" and len(items) >= options.min_group and wrong >= options.min_wrong:
            groups[name] = _fit(items, names, options.l2, _prior(prior, name, names))
        say(
            f"{name:32} {len(items):6} fields {wrong:5} wrong -> "
            f"{'own model' if name in groups else 'a broader model'}"
        )
    return groups


def _prior(prior: Calibration | None, name: str, names: Sequence[str]) -> np.ndarray | None:
    """The prior's weights for model `name`, over `names` (0 for a feature it lacks)."""
    if prior is None or not prior.groups:
        return None
    model = prior.groups.get(name) or prior.groups.get("default")
    if model is None:
        model = next(iter(prior.groups.values()))
    weights = dict(zip(prior.features, model.weights, strict=True))
    return np.array([weights.get(feature, 0.0) for feature in names])


def _probability(groups: dict[str, GroupModel], field: LabelledField) -> float:
    model = next(groups[n] for n in field.names if n in groups)
    return 1.0 / (1.0 + float(np.exp(-np.clip(np.dot(model.weights, field.x), -30, 30))))


def _fit(
    items: Sequence[LabelledField], names: Sequence[str], l2: float, prior: np.ndarray | None
) -> GroupModel:
    if not items:  # no field at all: the prior, or a model that trusts nothing
        weights = prior if prior is not None else np.zeros(len(names))
        return GroupModel(weights=[round(float(w), 5) for w in weights], fitted_on=0)
    x = np.stack([f.x for f in items])
    y = np.array([float(f.correct) for f in items])
    w = np.array([f.weight for f in items])
    fitted = fit_logistic(x, y, l2=l2, weights=w, prior=prior)
    return GroupModel(weights=[round(float(v), 5) for v in fitted], fitted_on=len(items))


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    l2: float = 1.0,
    steps: int = 50,
    weights: np.ndarray | None = None,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """Weights of a logistic regression by Newton's method with an L2 penalty.

    Each row counts `weights` times (1 by default). The penalty is on the distance from
    `prior` (0 by default); the bias is not penalised.
    """
    sample = np.ones(len(y)) if weights is None else weights
    centre = np.zeros(x.shape[1]) if prior is None else prior
    # From zero, not from the prior: a prior fitted on other forms can score these fields
    # so surely that p(1 - p) vanishes, and Newton's steps with it.
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 1e-6
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (sample * (p - y)) + penalty * (w - centre)
        hessian = (x * (sample * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w


def effective_size(weights: Sequence[float]) -> float:
    """Kish's effective sample size of weighted fields: (Σw)² / Σw²."""
    squares = sum(w * w for w in weights)
    return sum(weights) ** 2 / squares if squares else 0.0


def choose_threshold(scored: Sequence[tuple[float, bool, float]], target: float, z: float) -> float:
    """The lowest threshold whose silent error rate, at its upper bound, stays within `target`.

    `scored` holds (score, right, weight). The rate is the weighted share of wrong fields at
    or above the threshold; its bound is Wilson's at `z` standard errors on the weights'
    effective sample size: with few fields, or few wrong ones, the rate measured could be
    luck, and the threshold is set as if the rate were as high as the count allows. The
    lowest such threshold sends the fewest fields to review.
    """
    total = sum(w for _, _, w in scored)
    size = effective_size([w for _, _, w in scored])
    ordered = sorted(scored, key=lambda item: -item[0])
    wrong_above = 0.0
    best = 1.0
    for i, (p, ok, weight) in enumerate(ordered):
        wrong_above += 0.0 if ok else weight
        # Everything at or above p goes through unreviewed.
        nxt = ordered[i + 1][0] if i + 1 < len(ordered) else -1.0
        if upper_bound(wrong_above / total * size, size, z) > target:
            break
        if nxt < p:
            best = p
    return round(best, 6)


def upper_bound(k: float, n: float, z: float) -> float:
    """Wilson's upper bound of a rate seen as `k` in `n` (either may be fractional), at `z`."""
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + spread) / (1 + z * z / n)
