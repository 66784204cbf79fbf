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
from decimal import Decimal, InvalidOperation

from pipeline.form_spec import Template
from pipeline.readings import FieldReading, FormReading

AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$")
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
        if spec.kind == "amount":
            _amount(reading, spec.unit or "")
        if spec.required and not reading.value:
            # No rightly read form has it empty: a blank here is a value lost (its text run
            # into a neighbour's cell, or out of the cell), however sure the empty cell looks.
            reading.evidence.rule_failures.append("a field every form fills read empty")
            reading.evidence.contradicted = True
        if spec.pattern and reading.value and not re.fullmatch(spec.pattern, reading.value):
            reading.evidence.rule_failures.append(f"not like a {spec.key}")
    if "year" in form.fields:
        _normalise(form.fields["year"])
        if not form.fields["year"].value:
            form.fields["year"].evidence.rule_failures.append("no year read above the table")
            form.fields["year"].evidence.contradicted = True
    for row in form.indicators:
        for reading in row.values():
            _tidy(reading, template)
    _sum_rule(template, form)
    _cost_rule(template, form)
    _sequence_rule(form)
    _vocabulary_rule(template, form)
    _comparison_sign_rule(template, form)
    _label_in_value_rule(template, form)
    _nameless_row_rule(form)
    if template.rules.number_needs_unit:
        _unit_rule(form)
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


def _amount(reading: FieldReading, unit: str) -> None:
    value = reading.value
    if unit and value.endswith(unit):
        value = value[: -len(unit)]
    reading.value = value
    if value and not AMOUNT_RE.match(value):
        # No rightly read amount breaks this (a seal's or a pen's scrap glued to it: `名286`).
        reading.evidence.rule_failures.append("not a number")
        reading.evidence.contradicted = True


def decimal_of(text: str) -> Decimal | None:
    """A decimal from an amount field, None when blank or not a number."""
    if not text or not AMOUNT_RE.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _sum_rule(template: Template, form: FormReading) -> None:
    rule = template.rules.sum
    if rule is None:
        return
    total_field = form.fields.get(rule.total)
    parts = [form.fields.get(p) for p in rule.parts]
    if total_field is None or any(p is None for p in parts):
        return
    total = decimal_of(total_field.value)
    values = [decimal_of(p.value) if p and p.value else Decimal(0) for p in parts]
    if total is None or any(v is None for v in values) or not parts[0] or not parts[0].value:
        return
    if sum(v for v in values if v is not None) != total:
        for reading in (total_field, *parts):
            if reading is not None:
                reading.evidence.rule_failures.append(f"{rule.total} ≠ {' + '.join(rule.parts)}")
                reading.evidence.contradicted = True


def _cost_rule(template: Template, form: FormReading) -> None:
    rule = template.rules.cost_within_total
    if rule is None or rule.total not in form.fields:
        return
    total = decimal_of(form.fields[rule.total].value)
    if total is None:
        return
    for row in form.indicators:
        if row["level2"].value != rule.level2:
            continue
        match = re.search(r"(\d+(?:\.\d+)?)" + re.escape(rule.unit), row["value"].value)
        if match and Decimal(match.group(1)) > total:
            row["value"].evidence.rule_failures.append(f"{rule.level2} above {rule.total}")
            form.fields[rule.total].evidence.rule_failures.append(
                f"{rule.level2} above {rule.total}"
            )


def _sequence_rule(form: FormReading) -> None:
    """指标N numbers run 1, 2, 3 … inside each 二级指标."""
    seen: dict[str, list[tuple[int, dict[str, FieldReading]]]] = defaultdict(list)
    for row in form.indicators:
        if row["seq"].value.isdigit():
            seen[row["level2"].value].append((int(row["seq"].value), row))
    for rows in seen.values():
        expected = 1
        for number, row in rows:
            if number != expected and not (row["name"].value == "" and number > expected):
                row["seq"].evidence.rule_failures.append("指标N out of order")
            expected = number + 1


def _vocabulary_rule(template: Template, form: FormReading) -> None:
    level1_of = template.level1_of
    names = {*level1_of, *level1_of.values()}
    for row in form.indicators:
        if "name" in row and row["name"].value in names:
            # A 一级 or 二级 name in the 三级 column: the columns were placed wrongly.
            for reading in row.values():
                reading.evidence.rule_failures.append("三级指标 holds a 一级 or 二级 name")
        level2 = row["level2"].value
        if level2 not in level1_of:
            row["level2"].evidence.rule_failures.append("二级指标 not in vocabulary")
        elif level1_of[level2] != row["level1"].value:
            row["level1"].evidence.rule_failures.append("一级指标 does not own this 二级指标")
            row["level2"].evidence.rule_failures.append("一级指标 does not own this 二级指标")


def _comparison_sign_rule(template: Template, form: FormReading) -> None:
    """These forms print ≥ and ≤: a plain > or < is a sign whose lower bar wore away.

    The sign is put back and the failure recorded, so the field still counts as doubtful.
    """
    for row in form.indicators:
        reading = row["value"]
        read = reading.value
        for plain, printed in template.misread_signs.items():
            reading.value = reading.value.replace(plain, printed)
        if reading.value != read:
            reading.evidence.rule_failures.append(f"sign read as {read!r}; these forms print ≥, ≤")


def _label_in_value_rule(template: Template, form: FormReading) -> None:
    """A value holding a printed label was read from cells a missed ruling line ran together."""
    labels = template.labels
    for _, reading in form.all_fields():
        held = next((label for label in labels if label in reading.value), None)
        if held is not None:
            reading.evidence.rule_failures.append(f"value holds the label {held}")


def _nameless_row_rule(form: FormReading) -> None:
    """A row with no indicator name came from stray marks or a split cell, all its values too.

    Filled rows always name their indicator: the spec drops lines with neither name nor value.
    """
    for row in form.indicators:
        if "name" in row and not row["name"].value:
            for reading in row.values():
                reading.evidence.rule_failures.append("indicator row without a name")


def _unit_rule(form: FormReading) -> None:
    """A 指标值 that is a number carries its unit (`≥95%`, `30个`).

    A bare `≥958` is a `%` the recogniser read as a digit, or a unit it lost.
    """
    for row in form.indicators:
        if "value" in row and BARE_NUMBER_RE.match(row["value"].value):
            row["value"].evidence.rule_failures.append("a number without its unit")


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
    pattern = template.indicators.value_at_end
    if not pattern:
        return
    for row in form.indicators:
        if "name" in row and re.search(pattern, row["name"].value):
            row["name"].evidence.rule_failures.append("name ends like a value")
        if "value" in row and re.fullmatch(STRAY_BEFORE_NUMBER + pattern, row["value"].value):
            row["value"].evidence.rule_failures.append("a stray character before the number")
