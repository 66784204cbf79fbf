"""Stage 6, check: normalise values and run the form type's rules.

Normalising changes form, never content: Unicode NFKC (full-width digits and brackets),
`≧`/`≦` to `≥`/`≤`, whitespace out, an amount's unit dropped. Three misreadings are put right,
and each is recorded as a failed check so the field's confidence weighs it: stray marks (a
reader's tick, a speck read as a full stop) at the ends of a value, a plain `>`/`<` where the
form prints `≥`/`≤` (both named by the template), and a doubtful scrap read under a seal,
blanked. Any other failed rule changes nothing: it is recorded on each field it involves, and
the confidence model weighs it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.form_spec import (
    NUMERIC_KINDS,
    ColumnTotalRule,
    CostRule,
    RatioRule,
    RowAtMostRule,
    SumRule,
    Template,
    UnitRule,
)
from pipeline.readings import FieldReading, FormReading

AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$")
RATE_RE = re.compile(r"^\d+(\.\d+)?%$")
BARE_NUMBER_RE = re.compile(r"^[≥≤]?\d+(\.\d+)?$")
# These forms print no thousands separators, and nothing after a `%`: a comma between digits
# is a decimal point misread, a digit after `%` a speck.
MISREAD_NUMBER_RE = re.compile(r"\d,\d|%\d")
# One character before a 指标值's number that is no sign or 约 (about).
STRAY_BEFORE_NUMBER = r"[^\d≥≤约]"


def normalise_text(text: str) -> str:
    """NFKC, `≧`→`≥`, `≦`→`≤`, all whitespace removed: the spec's comparison form."""
    text = unicodedata.normalize("NFKC", text).replace("≧", "≥").replace("≦", "≤")
    return re.sub(r"\s+", "", text)


def check_form(template: Template, form: FormReading) -> None:
    """Normalise every field of `form` in place and record failed rules on the fields."""
    for spec in template.fields:
        reading = form.fields.get(spec.key)
        if reading is None:
            continue
        _tidy(reading, template)
        if spec.kind in NUMERIC_KINDS:
            _number(reading, spec.unit or "", rate=spec.kind == "rate")
        if spec.required and not reading.value:
            # No rightly read form has it empty: a blank here is a value lost (its text run
            # into a neighbour's cell, or out of the cell), however sure the empty cell looks.
            reading.evidence.contradict("a field every form fills read empty")
        if spec.pattern and reading.value and not re.fullmatch(spec.pattern, reading.value):
            reading.evidence.rule_failures.append(f"not like a {spec.key}")
    if "year" in form.fields:
        _normalise(form.fields["year"])
        if not form.fields["year"].value:
            form.fields["year"].evidence.contradict("no year read above the table")
    for row in form.indicators:
        for reading in row.values():
            _tidy(reading, template)
        for key in template.indicators.keys_of("number"):
            if key in row:
                _number(row[key], "")
        for column in template.indicators.columns:
            reading = row.get(column.key)
            if column.required and reading is not None and not reading.value:
                # A thin lone digit lost as dust, or a cell cut away: never a printed blank.
                reading.evidence.contradict("a column every row fills read empty")
    for rule in template.rules:
        RULES[rule.kind](template, form, rule)
    if template.indicators.line_label is not None:
        _sequence_rule(template, form)
    _vocabulary_rule(template, form)
    _comparison_sign_rule(template, form)
    _label_in_value_rule(template, form)
    _nameless_row_rule(template, form)
    _misread_number_rule(form)
    _value_in_name_rule(template, form)


def _tidy(reading: FieldReading, template: Template) -> None:
    """Normalise a value and put right the misreadings that need no other field."""
    _normalise(reading)
    _drop_stray_marks(reading, template.stray_marks)
    _drop_seal_remnant(reading)


def _normalise(reading: FieldReading) -> None:
    cleaned = normalise_text(reading.value)
    if cleaned != reading.value:
        reading.evidence.normalised = True
        reading.value = cleaned


def _drop_stray_marks(reading: FieldReading, marks: str) -> None:
    """Drop ticks and specks read at either end of a value; the failure keeps the record."""
    if not marks:
        return
    kept = reading.value.strip(marks)
    if kept != reading.value:
        reading.evidence.rule_failures.append(f"stray marks dropped: {reading.value!r}")
        reading.value = kept


# Under a seal, what is left of its ring or characters once the red is lifted reads as one or
# two characters the recogniser doubts; text printed or written there reads surer. Chosen on
# seed 2000's heavy and photo pages: 5 such readings of blank cells, no value lost.
SEAL_REMNANT_CHARS = 2
SEAL_REMNANT_SCORE = 0.45


def _drop_seal_remnant(reading: FieldReading) -> None:
    """Blank a doubtful scrap read under a seal; the failure keeps the record."""
    evidence = reading.evidence
    if (
        evidence.seal
        and 0 < len(reading.value) <= SEAL_REMNANT_CHARS
        and 0 < evidence.rec_score < SEAL_REMNANT_SCORE
    ):
        evidence.rule_failures.append(f"seal remnant dropped: {reading.value!r}")
        reading.value = ""


def _number(reading: FieldReading, unit: str, rate: bool = False) -> None:
    """An amount without its unit, a number, or a rate with its `%`; anything else contradicted."""
    value = reading.value
    if unit and value.endswith(unit):
        value = value[: -len(unit)]
    reading.value = value
    if value and not (RATE_RE if rate else AMOUNT_RE).match(value):
        # No rightly read number breaks this (a seal's or a pen's scrap glued to it: `名286`).
        reading.evidence.contradict("not a number")


def decimal_of(text: str) -> Decimal | None:
    """A decimal from an amount field, None when blank or not a number."""
    if not text or not AMOUNT_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _sum_rule(template: Template, form: FormReading, rule: SumRule) -> None:
    total_field = form.fields.get(rule.total)
    parts = [form.fields.get(p) for p in rule.parts]
    if total_field is None or any(p is None for p in parts):
        return
    # A blank counts as nothing: a total over blank parts, or parts under a blank total, is
    # a slip or a lost cell.
    total = decimal_of(total_field.value) if total_field.value else Decimal(0)
    values = [decimal_of(p.value) if p and p.value else Decimal(0) for p in parts]
    if total is None or any(v is None for v in values):
        return
    if sum(v for v in values if v is not None) != total:
        tied = [r for r in (total_field, *parts) if r is not None]
        _contradict(tied, f"{rule.total} ≠ {' + '.join(rule.parts)}")


def _cost_rule(template: Template, form: FormReading, rule: CostRule) -> None:
    level2, value = template.indicators.key_of("level2"), template.indicators.key_of("value")
    if rule.total not in form.fields or level2 is None or value is None:
        return
    total = decimal_of(form.fields[rule.total].value)
    if total is None:
        return
    for row in form.indicators:
        if row[level2].value != rule.level2:
            continue
        match = re.search(r"(\d+(?:\.\d+)?)" + re.escape(rule.unit), row[value].value)
        if match and Decimal(match.group(1)) > total:
            row[value].evidence.rule_failures.append(f"{rule.level2} above {rule.total}")
            form.fields[rule.total].evidence.rule_failures.append(
                f"{rule.level2} above {rule.total}"
            )


def _contradict(readings: list[FieldReading], failure: str) -> None:
    """A rule that holds on every rightly printed form broke: each field it ties to review."""
    for reading in readings:
        reading.evidence.contradict(failure)


def _ratio_rule(template: Template, form: FormReading, rule: RatioRule) -> None:
    """执行率 = 全年执行数 / 全年预算数, as a percentage to the places it is printed with."""
    fields = [form.fields.get(k) for k in (rule.result, rule.numerator, rule.denominator)]
    if any(f is None or not f.value for f in fields):
        return
    result, numerator, denominator = (f for f in fields if f is not None)
    rate = decimal_of(result.value.removesuffix("%"))
    top, bottom = decimal_of(numerator.value), decimal_of(denominator.value)
    if rate is None or top is None or not bottom:
        return
    exponent = rate.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    # A printer rounds or cuts the rate at its places: either is as printed.
    exact = top / bottom * 100
    step = Decimal(1).scaleb(-places)
    if abs(exact - rate) >= step:
        _contradict(
            [result, numerator, denominator],
            f"{rule.result} ≠ {rule.numerator} / {rule.denominator}",
        )


def _row_at_most_rule(template: Template, form: FormReading, rule: RowAtMostRule) -> None:
    """Each row's 得分 is not above its 分值."""
    for row in form.indicators:
        value, limit = row.get(rule.column), row.get(rule.limit)
        if value is None or limit is None:
            continue
        got, most = decimal_of(value.value), decimal_of(limit.value)
        if got is not None and most is not None and got > most:
            _contradict([value, limit], f"{rule.column} above {rule.limit}")


def _column_total_rule(template: Template, form: FormReading, rule: ColumnTotalRule) -> None:
    """The rows' weights (or scores) and the scalars beside them add up to the total's."""
    total = form.fields.get(rule.total)
    plus = [form.fields[k] for k in rule.plus if k in form.fields]
    column = [row[rule.column] for row in form.indicators if rule.column in row]
    if total is None or decimal_of(total.value) is None or not column:
        return
    parts = [decimal_of(r.value) if r.value else Decimal(0) for r in (*plus, *column)]
    if any(p is None for p in parts):
        return  # a part that is no number is contradicted already
    if sum(p for p in parts if p is not None) != decimal_of(total.value):
        _contradict(
            [total, *plus, *column],
            f"{rule.column} of the rows{''.join(' + ' + k for k in rule.plus)} ≠ {rule.total}",
        )


def _sequence_rule(template: Template, form: FormReading) -> None:
    """Printed 指标N numbers run 1, 2, 3 … inside each 二级指标."""
    level2, name = _level2_key(template), template.indicators.key_of("name") or ""
    seen: dict[str, list[tuple[int, dict[str, FieldReading]]]] = defaultdict(list)
    for row in form.indicators:
        if row["seq"].value.isdigit():
            block = row[level2].value if level2 in row else ""
            seen[block].append((int(row["seq"].value), row))
    for rows in seen.values():
        expected = 1
        for number, row in rows:
            if number != expected and not (row[name].value == "" and number > expected):
                row["seq"].evidence.rule_failures.append("指标N out of order")
            expected = number + 1


def _level2_key(template: Template) -> str:
    return template.indicators.key_of("level2") or ""


def _vocabulary_rule(template: Template, form: FormReading) -> None:
    spec = template.indicators
    level1_key, level2_key, name_key = (
        spec.key_of("level1"),
        spec.key_of("level2"),
        spec.key_of("name"),
    )
    if level2_key is None:
        return
    level1_of = template.level1_of
    names = {*level1_of, *level1_of.values()}
    for row in form.indicators:
        if name_key in row and row[name_key].value in names:
            # A 一级 or 二级 name in the 三级 column: the columns were placed wrongly.
            for reading in row.values():
                reading.evidence.rule_failures.append("三级指标 holds a 一级 or 二级 name")
        level2 = row[level2_key].value
        if level2 not in level1_of:
            row[level2_key].evidence.rule_failures.append("二级指标 not in vocabulary")
        elif level1_key is not None and level1_of[level2] != row[level1_key].value:
            row[level1_key].evidence.rule_failures.append("一级指标 does not own this 二级指标")
            row[level2_key].evidence.rule_failures.append("一级指标 does not own this 二级指标")


def _comparison_sign_rule(template: Template, form: FormReading) -> None:
    """These forms print ≥ and ≤: a plain > or < is a sign whose lower bar wore away.

    The sign is put back and the failure recorded, so the field still counts as doubtful.
    """
    for row in form.indicators:
        for reading in (row[k] for k in template.indicators.keys_of("value") if k in row):
            read = reading.value
            for plain, printed in template.misread_signs.items():
                reading.value = reading.value.replace(plain, printed)
            if reading.value != read:
                reading.evidence.rule_failures.append(
                    f"sign read as {read!r}; these forms print ≥, ≤"
                )


# Prose this long (a goal, a deviation's reasons) may use a label's words in a sentence:
# `资金执行率98.89%`, `达到预期目标`; only at its ends is a label a neighbour's cell.
PROSE_CHARS = 20


def _label_in_value_rule(template: Template, form: FormReading) -> None:
    """A value holding a printed label was read from cells a missed ruling line ran together."""
    labels = template.labels
    for _, reading in form.all_fields():
        value = reading.value
        held = next((label for label in labels if label in value), None)
        if held is not None and len(value) > PROSE_CHARS:
            held = next((a for a in labels if value.startswith(a) or value.endswith(a)), None)
        if held is not None:
            reading.evidence.rule_failures.append(f"value holds the label {held}")


def _nameless_row_rule(template: Template, form: FormReading) -> None:
    """A row with no indicator name came from stray marks or a split cell, all its values too.

    Filled rows always name their indicator: the spec drops lines with neither name nor value.
    """
    name = template.indicators.key_of("name") or ""
    for row in form.indicators:
        if name in row and not row[name].value:
            for reading in row.values():
                reading.evidence.rule_failures.append("indicator row without a name")


def _unit_rule(template: Template, form: FormReading, rule: UnitRule) -> None:
    """A 指标值 that is a number carries its unit (`≥95%`, `30个`).

    A bare `≥958` is a `%` the recogniser read as a digit, or a unit it lost.
    """
    for row in form.indicators:
        if rule.column in row and BARE_NUMBER_RE.match(row[rule.column].value):
            row[rule.column].evidence.rule_failures.append("a number without its unit")


def _misread_number_rule(form: FormReading) -> None:
    """A comma between digits (`226,51`) or a digit after `%` (`≥95%6`) is misread."""
    for _, reading in form.all_fields():
        if MISREAD_NUMBER_RE.search(reading.value):
            reading.evidence.rule_failures.append("a number misread")


def _value_in_name_rule(template: Template, form: FormReading) -> None:
    """Flag a 三级 name ending like a 指标值, and a 指标值 with a stray character before it.

    The name (`满意度≥80%`) holds its value cell's text too; the value (`坡≥80%`) a
    neighbour's ink.
    """
    spec = template.indicators
    pattern, name = spec.value_at_end, spec.key_of("name") or ""
    if not pattern:
        return
    for row in form.indicators:
        if name in row and re.search(pattern, row[name].value):
            row[name].evidence.rule_failures.append("name ends like a value")
        for key in spec.keys_of("value"):
            if key in row and re.fullmatch(STRAY_BEFORE_NUMBER + pattern, row[key].value):
                row[key].evidence.rule_failures.append("a stray character before the number")


RULES: dict[str, Callable[[Template, FormReading, Any], None]] = {
    "sum": _sum_rule,
    "cost_within_total": _cost_rule,
    "number_needs_unit": _unit_rule,
    "ratio": _ratio_rule,
    "row_at_most": _row_at_most_rule,
    "column_total": _column_total_rule,
}
