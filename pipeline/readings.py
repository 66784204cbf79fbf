"""What the reading stages pass on: each field's value with the evidence for trusting it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SURE_VOCAB = 0.9  # a vocabulary match at least this close is taken as read


class LexiconChange(BaseModel):
    """A known value offered in place of a reading a small edit from it (`pipeline.lexicon`)."""

    model_config = ConfigDict(extra="forbid")

    read: str = Field(description="The value as read and checked, before the lexicon.")
    offered: str = Field(description="The known value it was offered as: the field's value.")
    edits: int = Field(description="Edits (Levenshtein) from the reading to the known value.")
    sources: list[str] = Field(description="Where the known value came from: review, import.")
    seen: int = Field(description="How many answers and imports gave it.")
    lexicon: str = Field(description="The version of the lexicon the run read with.")

    @property
    def distance(self) -> float:
        """The edits over the longer of the two values' lengths, in [0, 1]."""
        return self.edits / max(1, len(self.read), len(self.offered))


class Evidence(BaseModel):
    """Signals about one field that the confidence model weighs. All in [0, 1] or counts."""

    model_config = ConfigDict(extra="forbid")

    found: bool = Field(default=True, description="The field's anchor or row was found.")
    rec_score: float = Field(default=1.0, description="Lowest recognition score of its lines.")
    char_min: float = Field(default=1.0, description="Lowest per-character score.")
    anchor_score: float = Field(default=1.0, description="Fuzzy match of the anchor label, 0–1.")
    vocab_score: float = Field(default=1.0, description="Match to the closed vocabulary, 0–1.")
    blank: bool = Field(default=False, description="The value cell held no ink.")
    lines: int = Field(default=1, description="Text lines the value was joined from.")
    seal: bool = Field(default=False, description="Red ink lies over the cell.")
    seal_disagrees: bool = Field(
        default=False, description="Reading with and without the seal lifted out differ."
    )
    inherited: bool = Field(
        default=False, description="Taken from a cell on an earlier page (a continued form)."
    )
    placed_by_order: bool = Field(
        default=False,
        description="An indicator row's 一级 or 二级 taken from the order of the rows, "
        "not from its cell.",
    )
    column_lost: bool = Field(
        default=False,
        description="Most rows of its page found no cell in its column: the column was lost.",
    )
    grid_doubtful: bool = Field(
        default=False,
        description="Its page's grid found more column lines than the form prints: strokes "
        "taken for rulings, cells cut where the form has none.",
    )
    photo: bool = Field(
        default=False, description="Read from a phone photo (the sheet found on a background)."
    )
    rule_failures: list[str] = Field(default_factory=list, description="Checks that failed.")
    contradicted: bool = Field(
        default=False,
        description="A rule that holds on every rightly read form failed on this field (the "
        "funds sum): one of the fields it ties is wrong, so each goes to review whatever its "
        "confidence.",
    )
    normalised: bool = Field(default=False, description="The checker reformatted the value.")
    second_reading: str | None = Field(
        default=None,
        description="What a second, independent reading of the field's region says; None "
        "where it was not read again.",
    )
    second_disagrees: bool = Field(
        default=False, description="The second reading differs from the first."
    )
    lexicon_exact: bool = Field(
        default=False,
        description="The value as read is a known value of its field's lexicon (reviewers' "
        "answers, imported lists).",
    )
    lexicon: LexiconChange | None = Field(
        default=None,
        description="The known value the lexicon offered in place of the reading, and which "
        "entry; None where it changed nothing.",
    )

    def contradict(self, failure: str) -> None:
        """Record a failed check that no rightly read form fails.

        The field goes to review, however sure its reading looks.
        """
        self.rule_failures.append(failure)
        self.contradicted = True


class FieldReading(BaseModel):
    """One field as read from the page, before and after normalising."""

    model_config = ConfigDict(extra="forbid")

    value: str
    raw: str = Field(description="The text as OCR read it.")
    page: int | None = Field(default=None, description="1-based page in the source file.")
    bbox: list[float] | None = Field(default=None, description="Box in source-page pixels.")
    evidence: Evidence = Field(default_factory=Evidence)
    confidence: float = 0.0
    review: bool = True


class FormReading(BaseModel):
    """One form found in a file: its scalar fields and its indicator rows."""

    model_config = ConfigDict(extra="forbid")

    file: str
    pages: list[int] = Field(default_factory=list)
    form_type: str
    fields: dict[str, FieldReading] = Field(default_factory=dict)
    indicators: list[dict[str, FieldReading]] = Field(default_factory=list)
    issues: list[str] = Field(default_factory=list, description="What went wrong, and where.")

    def all_fields(self) -> list[tuple[str, FieldReading]]:
        """Every field with its key, indicator keys prefixed as `indicators.KEY`."""
        out = list(self.fields.items())
        for row in self.indicators:
            out.extend((f"indicators.{k}", v) for k, v in row.items())
        return out


def field_path(key: str, row: int | None) -> str:
    """A field's place in its record: `fields.KEY` or `indicators.ROW.KEY`."""
    return f"fields.{key}" if row is None else f"indicators.{row}.{key}"


def key_of_path(path: str) -> str:
    """A field's key across rows, from its place: `KEY`, or `indicators.KEY` for a row's."""
    parts = path.split(".")
    return parts[1] if parts[0] == "fields" else f"indicators.{parts[-1]}"


class AuditDraw(BaseModel):
    """A straight-through field drawn for audit: its stratum and the rate it was drawn at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stratum: str = Field(description="`FORM_TYPE:KIND`, as `pipeline.audit.Stratum.label`.")
    rate: float = Field(gt=0, le=1, description="The chance it had; its weight is 1/rate.")
