"""Audit sampling and the silent error estimate: pure functions, no store, no models."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.audit import (
    AuditAnswer,
    Stratum,
    StratumSize,
    audit_fields,
    clopper_pearson,
    draw,
    estimate,
    estimates_by,
    is_silent_error,
    stratum_of,
)
from pipeline.readings import Evidence, FieldReading, FormReading

FORM = "budget_performance_approval"
SHA = "ab" * 32


def _field(value: str, review: bool) -> FieldReading:
    return FieldReading(value=value, raw=value, evidence=Evidence(), confidence=0.9, review=review)


def _forms(rows: int = 40) -> list[FormReading]:
    return [
        FormReading(
            file="a.pdf",
            form_type=FORM,
            fields={"year": _field("2024", False), "project_name": _field("项目", True)},
            indicators=[
                {"name": _field(f"指标{n}", False), "value": _field(f"{n}人", n % 7 == 0)}
                for n in range(rows)
            ],
        )
        for _ in range(2)
    ]


def test_the_draw_is_a_fixed_uniform_number_per_document_and_field() -> None:
    assert draw(SHA, 0, "fields.year") == draw(SHA, 0, "fields.year")
    assert draw(SHA, 0, "fields.year") != draw(SHA, 1, "fields.year")  # another form of the file
    assert draw(SHA, 0, "fields.year") != draw("cd" * 32, 0, "fields.year")
    values = [draw(SHA, 0, f"indicators.{n}.name") for n in range(4000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert abs(float(np.mean(values)) - 0.5) < 0.02  # uniform: mean 1/2, sd of the mean 0.0046
    assert abs(sum(v < 0.1 for v in values) / 4000 - 0.1) < 0.02


def test_audits_are_drawn_from_straight_through_fields_only_and_again_the_same() -> None:
    forms = _forms()
    drawn = audit_fields(forms, SHA, 0.3)
    assert drawn == audit_fields(_forms(), SHA, 0.3)  # read again, the same sample
    straight = {
        (seq, path)
        for seq, form in enumerate(forms)
        for path, reading in form_paths(form)
        if not reading.review
    }
    assert drawn and set(drawn) <= straight
    assert 0.15 < len(drawn) / len(straight) < 0.45
    # A higher rate keeps every field a lower one drew: a sample only grows.
    assert set(drawn) <= set(audit_fields(forms, SHA, 0.6))
    assert audit_fields(forms, SHA, 0.0) == {}
    for (_, path), chosen in drawn.items():
        key = path.split(".")[-1]
        stratum = stratum_of(FORM, key, None if path.startswith("fields.") else 0)
        assert (chosen.stratum, chosen.rate) == (stratum.label, 0.3)


def form_paths(form: FormReading) -> list[tuple[str, FieldReading]]:
    out = [(f"fields.{k}", r) for k, r in form.fields.items()]
    for row, indicator in enumerate(form.indicators):
        out += [(f"indicators.{row}.{k}", r) for k, r in indicator.items()]
    return out


def test_strata_are_form_type_and_field_kind() -> None:
    assert stratum_of(FORM, "year", None) == Stratum(FORM, "year")
    assert stratum_of(FORM, "funds_total", None) == Stratum(FORM, "amount")
    assert stratum_of(FORM, "project_name", None) == Stratum(FORM, "text")
    assert stratum_of(FORM, "value", 3) == Stratum(FORM, "indicators.value")


def test_a_changed_value_is_a_silent_error_and_a_spelling_the_scorer_ignores_is_not() -> None:
    approval = "budget_performance_approval"
    assert is_silent_error(approval, "name", 0, "人夭", "人大")
    assert not is_silent_error(approval, "name", 0, "人大", "人大")
    assert not is_silent_error(approval, "value", 0, "≥90%", "≧ 90%")  # the scorer folds these
    assert not is_silent_error(approval, "funds_total", None, "646.3", "646.30")  # as numbers
    assert is_silent_error(approval, "project_name", None, "646.3", "646.30")  # text


def test_clopper_pearson_matches_its_closed_forms_and_the_binomial_tails() -> None:
    low, high = clopper_pearson(0, 100)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 100), rel=1e-9)
    low, high = clopper_pearson(100, 100)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 100), rel=1e-9)
    x, n = 3, 250
    low, high = clopper_pearson(x, n)

    def tail_at_least(p: float) -> float:
        return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))

    assert tail_at_least(low) == pytest.approx(0.025, rel=1e-6)
    assert 1 - tail_at_least(high) + math.comb(n, x) * high**x * (1 - high) ** (n - x) == (
        pytest.approx(0.025, rel=1e-6)
    )
    # A fractional count (a weighted sample's effective size) lies between its neighbours.
    assert clopper_pearson(2, 250)[1] < clopper_pearson(2.5, 250)[1] < clopper_pearson(3, 250)[1]


def _population(rng: np.random.Generator) -> tuple[dict[Stratum, StratumSize], dict[Stratum, int]]:
    """Strata of straight-through fields with a silent error rate each, as in a real store."""
    kinds = {"text": (8000, 0.004), "amount": (3000, 0.001), "year": (1500, 0.0)}
    kinds |= {"indicators.value": (12000, 0.008), "indicators.name": (9000, 0.003)}
    sizes, wrong = {}, {}
    for kind, (n, p) in kinds.items():
        stratum = Stratum(FORM, kind)
        sizes[stratum] = StratumSize(fields=n + n // 10, straight_through=n)
        wrong[stratum] = int(rng.binomial(n, p))
    return sizes, wrong


def _sample(
    rng: np.random.Generator,
    sizes: dict[Stratum, StratumSize],
    wrong: dict[Stratum, int],
    rates: dict[str, float],
) -> list[AuditAnswer]:
    """Each straight-through field audited with its stratum's rate (Poisson sampling)."""
    answers = []
    for stratum, size in sizes.items():
        rate = rates.get(stratum.kind, rates["*"])
        audited = int(rng.binomial(size.straight_through, rate))
        found = int(
            rng.hypergeometric(wrong[stratum], size.straight_through - wrong[stratum], audited)
        )
        answers += [AuditAnswer(stratum, rate, n < found) for n in range(audited)]
    return answers


@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_the_95_percent_interval_covers_the_true_rate_in_at_least_90_percent_of_500_samples(
    rate: float,
) -> None:
    rng = np.random.default_rng(22)
    sizes, wrong = _population(rng)
    fields = sum(s.fields for s in sizes.values())
    truth = sum(wrong.values()) / fields  # silent errors per field read, as the scorer counts
    covered, widths = 0, []
    for _ in range(500):
        found = estimate(sizes, _sample(rng, sizes, wrong, {"*": rate}))
        assert found.rate is not None and found.low is not None and found.high is not None
        assert found.low <= found.rate <= found.high
        covered += found.low <= truth <= found.high
        widths.append(found.high - found.low)
    assert covered >= 450, f"covered {covered} of 500"
    # Not by being useless: no wider than a simple random sample of as many fields would give.
    straight = sum(s.straight_through for s in sizes.values())
    audits = rate * straight
    low, high = clopper_pearson(sum(wrong.values()) / straight * audits, audits)
    assert float(np.median(widths)) <= 1.1 * (high - low) * straight / fields


def test_strata_sampled_at_other_rates_are_weighted_by_their_share_of_straight_through() -> None:
    rng = np.random.default_rng(7)
    sizes, wrong = _population(rng)
    truth = sum(wrong.values()) / sum(s.straight_through for s in sizes.values())
    # The rare, error-prone kind oversampled ten times: counting audits alone would say
    # that kind's rate for the whole store.
    rates = {"*": 0.01, "indicators.value": 0.1}
    ours, pooled = [], []
    for _ in range(300):
        answers = _sample(rng, sizes, wrong, rates)
        found = estimate(sizes, answers)
        assert found.straight_through_rate is not None
        ours.append(found.straight_through_rate)
        pooled.append(sum(a.error for a in answers) / len(answers))
    assert abs(float(np.mean(ours)) - truth) < 0.1 * truth
    assert abs(float(np.mean(pooled)) - truth) > 0.3 * truth


def test_the_estimate_counts_what_it_rests_on_and_says_so_when_there_is_nothing() -> None:
    text, year = Stratum(FORM, "text"), Stratum(FORM, "year")
    sizes = {text: StratumSize(fields=120, straight_through=100), year: StratumSize(10, 10)}
    empty = estimate(sizes, [])
    assert (empty.rate, empty.low, empty.high, empty.audited) == (None, None, None, 0)
    answers = [AuditAnswer(text, 0.1, n < 2) for n in range(10)]
    found = estimate(sizes, answers)
    assert (found.audited, found.errors, found.fields, found.straight_through) == (10, 2, 130, 110)
    # 20% wrong among straight-through text fields; year, never audited, is taken to be alike.
    assert found.straight_through_rate == pytest.approx(0.2)
    assert found.rate == pytest.approx(0.2 * 110 / 130)
    assert found.unaudited_share == pytest.approx(10 / 110)
    assert found.low is not None and found.high is not None and found.low < found.rate < found.high
    by_kind = estimates_by(sizes, answers, lambda s: s.kind)
    assert set(by_kind) == {"text", "year"}
    assert by_kind["text"].rate == pytest.approx(0.2 * 100 / 120)
    assert by_kind["year"].audited == 0 and by_kind["year"].rate is None
