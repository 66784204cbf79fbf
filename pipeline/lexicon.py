"""Stage 6b, lexicon: a reading a small edit from one known value of its field is offered as it.

The names on these forms repeat across thousands of them: units, departments with their
codes, projects, 三级 indicator names. Every value a reviewer confirms or corrects of a field
its form type marks `lexicon: true` is kept in the store (`pipeline.store.lexicon`), and an
admin can import an official list. A batch run takes one snapshot of it (`Lexicon`) when it
starts and hands it to every reading worker, so all its documents are read against the same
lexicon, and the records name its version.

After the check stage and before confidence, each such field's value is looked up:

- a known value: the field says so (`lexicon_exact`), a confidence feature;
- a small edit from exactly one known value, and clearly farther from every other one: the
  known value is offered in the reading's place. The reading stays in the evidence
  (`LexiconChange`, with the entry's sources and count and the lexicon's version), and the
  edits over the value's length are a confidence feature (`lexicon_distance`). A calibration
  fitted without that feature sends such a field to review (`pipeline.confidence`);
- anything else is left exactly as read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from pipeline.form_spec import Template
from pipeline.readings import FieldReading, FormReading, LexiconChange

if TYPE_CHECKING:
    from pipeline.store.rows import LexiconEntry

# The most edits a reading may be from the known value it is offered as: one per ten
# characters of the reading, so none under 10 characters. A misread character is about one
# in ten or fewer even on a worn scan, while these names are formulaic: siblings share most
# of their characters, and a short one (群众满意度, 群众满意率) differs from another real one
# by a character. With one edit per six characters, two real 三级 names of 13 and 14
# characters two edits apart (社区工作者(含社保)发放标准 / …发放时限, 保障社区团建工作有效开展 /
# 保障社区工作有效开展) were offered as each other in scripts/simulate_learning.py.
CHARS_PER_EDIT = 10
MOST_EDITS = 3


def edit_bound(length: int) -> int:
    """The most edits a reading of `length` characters may be from the value it is offered as."""
    return min(MOST_EDITS, length // CHARS_PER_EDIT)


def clearly_farther(nearest: int, other: int) -> bool:
    """Whether a second known value `other` edits away leaves the nearest, `nearest` away, alone.

    A reading about as near two known values says nothing about which it is; the second must
    be at least twice as far and two edits farther, so that one more misread character would
    not have made it the nearest.
    """
    return other >= max(2 * nearest, nearest + 2)


_DIGITS = re.compile(r"\D")


class KnownValue(BaseModel):
    """One known value of a field, its sources merged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    sources: tuple[str, ...] = Field(description="review, import")
    seen: int


class Lexicon(BaseModel):
    """The store's known values as one run reads with them, by form type and lexicon key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    values: dict[str, dict[str, tuple[KnownValue, ...]]] = Field(
        default_factory=dict, description="Form type → key (`KEY`, `indicators.KEY`) → values."
    )

    @classmethod
    def from_entries(cls, entries: Iterable[LexiconEntry]) -> Lexicon:
        """The snapshot of the store's entries (`Store.lexicon_entries`), sources merged."""
        merged: dict[tuple[str, str, str], tuple[list[str], int]] = {}
        for entry in entries:
            sources, seen = merged.get((entry.form_type, entry.key, entry.value), ([], 0))
            merged[(entry.form_type, entry.key, entry.value)] = (
                sorted({*sources, entry.source}),
                seen + entry.seen,
            )
        values: dict[str, dict[str, list[KnownValue]]] = {}
        for (form_type, key, value), (sources, seen) in sorted(merged.items()):
            known = KnownValue(value=value, sources=tuple(sources), seen=seen)
            values.setdefault(form_type, {}).setdefault(key, []).append(known)
        return cls(
            values={
                form_type: {key: tuple(found) for key, found in keys.items()}
                for form_type, keys in values.items()
            }
        )

    @property
    def size(self) -> int:
        """How many known values it holds, over every form type and key."""
        return sum(len(found) for keys in self.values.values() for found in keys.values())

    @property
    def version(self) -> str:
        """Its size and a digest of its values: the same values, the same version.

        A count going up (one more reviewer confirming a known value) changes no reading, so
        only the values themselves go into the digest.
        """
        if not self.size:
            return "empty"
        digest = hashlib.sha256()
        for form_type, keys in sorted(self.values.items()):
            for key, found in sorted(keys.items()):
                for known in found:
                    digest.update(f"{form_type}\t{key}\t{known.value}\n".encode())
        return f"{self.size} values {digest.hexdigest()[:12]}"

    def known(self, form_type: str, key: str) -> tuple[KnownValue, ...]:
        """The known values of a form type's field."""
        return self.values.get(form_type, {}).get(key, ())


EMPTY = Lexicon()


def nearest(value: str, known: Sequence[KnownValue]) -> tuple[KnownValue, int] | None:
    """The one known value a reading may be offered as, with its edits; None where none is.

    It must be within `edit_bound` of the reading, clearly nearer than any other known value,
    and hold the same digits: a year or a code that differs is more likely another real
    value (2023年 and 2024年 of one project, two departments' codes) than a misreading.
    """
    bound = edit_bound(len(value))
    if bound == 0 or not known:
        return None
    # The second nearest matters only up to where it would no longer leave the first alone.
    found = process.extract(
        value,
        [k.value for k in known],
        scorer=Levenshtein.distance,
        limit=2,
        score_cutoff=2 * bound + 2,
    )
    if not found:
        return None
    _, edits, index = found[0]
    if not 0 < edits <= bound:
        return None
    if len(found) > 1 and not clearly_farther(edits, found[1][1]):
        return None
    offered = known[index]
    if _DIGITS.sub("", offered.value) != _DIGITS.sub("", value):
        return None
    return offered, int(edits)


def apply_lexicon(form: FormReading, template: Template, lexicon: Lexicon) -> int:
    """Look each lexicon field of `form` up; offer a near known value. Returns fields changed.

    `template` is the form's type: its `lexicon_keys` say which fields take a lexicon.
    """
    keys = template.lexicon_keys
    if not keys or not lexicon.size:
        return 0
    changed = 0
    for key, reading in form.all_fields():
        if key not in keys:
            continue
        known = lexicon.known(form.form_type, key)
        if known and _look_up(reading, known, lexicon.version):
            changed += 1
    return changed


def _look_up(reading: FieldReading, known: Sequence[KnownValue], version: str) -> bool:
    """Mark an exact match, or offer the near known value; True when the value was changed."""
    value = reading.value
    evidence = reading.evidence
    if not value or not evidence.found or evidence.blank:
        return False  # the lexicon names values; it never fills a cell nothing was read in
    if any(k.value == value for k in known):
        evidence.lexicon_exact = True
        return False
    found = nearest(value, known)
    if found is None:
        return False
    offered, edits = found
    evidence.lexicon = LexiconChange(
        read=value,
        offered=offered.value,
        edits=edits,
        sources=list(offered.sources),
        seen=offered.seen,
        lexicon=version,
    )
    reading.value = offered.value
    return True
