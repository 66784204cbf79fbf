"""What the store hands out and takes in: typed rows, and forms taken apart into field rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.pages import FileResult
from pipeline.readings import Evidence, FieldReading, FormReading, field_path


class Document(BaseModel):
    """One scan file's content as the store knows it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    sha256: str
    path: str
    name: str
    size: int
    mtime_ns: int | None = None
    pages: int | None
    state: str
    reason: str | None
    versions: dict[str, str] | None


class Correction(BaseModel):
    """A reviewer's value for a field; the OCR value stays beside it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reviewer: str
    at: datetime
    old_value: str
    new_value: str


class ReviewTask(BaseModel):
    """One field waiting for a person, with where to find it on the scan."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    field_id: int
    form_id: int
    confidence: float
    key: str
    row: int | None
    value: str
    raw: str
    page: int | None
    bbox: list[float] | None
    file: str
    form_type: str = Field(default="", description="Its form's type: the printed labels.")
    has_crop: bool
    state: str = "open"
    claimed_by: str | None = None
    corrected: str | None = Field(default=None, description="The latest reviewer's value.")

    @property
    def path(self) -> str:
        """The field's place in its record."""
        return field_path(self.key, self.row)

    @property
    def current(self) -> str:
        """What the field reads now: a reviewer's value over the OCR value."""
        return self.value if self.corrected is None else self.corrected


class AuditTask(BaseModel):
    """A review task drawn as an audit, with what its field read and what a person said."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    form_type: str
    key: str
    row: int | None
    value: str = Field(description="The value as read: what the audit checks.")
    rate: float = Field(description="The chance it was drawn with; its weight is 1/rate.")
    stratum: str
    state: str  # open | done | unreadable
    corrected: str | None = Field(default=None, description="The latest reviewer's value.")


class AnsweredTask(BaseModel):
    """A review or audit task a reviewer answered: what its field read and what they said."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    field_id: int
    form_id: int
    document_id: int
    form_type: str
    key: str
    row: int | None
    value: str = Field(description="The value as read: what the answer labels.")
    audit: bool
    rate: float | None = Field(default=None, description="An audit's chance of being drawn.")
    corrected: str = Field(description="The latest reviewer's value.")


class FieldCount(BaseModel):
    """How many current fields of one form type and key were, or were not, sent to review."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    form_type: str
    key: str
    indicator: bool
    review: bool
    count: int


class LexiconEntry(BaseModel):
    """A known value of one form type's field, from one source, and how often it was given."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    form_type: str
    key: str = Field(description="`KEY`, or `indicators.KEY` for a row's.")
    value: str
    source: str  # review | import
    seen: int
    first_seen: datetime
    last_seen: datetime


class User(BaseModel):
    """A person who may sign in to the review server."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str
    role: str  # reviewer | admin
    password_hash: str
    disabled: bool = False
    failed_signins: int = 0  # in a row
    locked_until: datetime | None = None

    def locked_for(self, now: datetime) -> float:
        """Seconds the account stays locked after `now` by failed sign-ins; 0 when it is not."""
        if self.locked_until is None:
            return 0.0
        return max(0.0, (as_utc(self.locked_until) - now).total_seconds())


class FieldView(BaseModel):
    """A field of a form as the form page shows it: its box in its page image's pixels."""

    model_config = ConfigDict(frozen=True)

    id: int
    path: str
    key: str
    row: int | None
    value: str
    current: str
    confidence: float
    review_state: str
    page: int | None
    box: tuple[float, float, float, float] | None
    reviewed_by: str | None


class PageView(BaseModel):
    """A page image kept for the form page, by its id."""

    model_config = ConfigDict(frozen=True)

    id: int
    number: int
    width: int
    height: int


class FormView(BaseModel):
    """A form with every field and the images of its pages."""

    model_config = ConfigDict(frozen=True)

    id: int
    file: str
    form_type: str = Field(default="", description="Which template: the printed labels.")
    seq: int
    fields: list[FieldView]
    pages: list[PageView]


class Progress(BaseModel):
    """How far the queue is: tasks left, closed today, and by whom."""

    model_config = ConfigDict(frozen=True)

    open: int
    claimed: int
    done_today: int
    by_reviewer: dict[str, int]
    done_total: int


@dataclass(frozen=True)
class FinishedDocument:
    """A document read and ready to store: its content key and what reading it gave."""

    sha256: str
    result: FileResult


@dataclass(frozen=True)
class StoredForm:
    """A current form read back from the store, with its document and corrections by path."""

    form_id: int
    document: Document
    seq: int
    versions: dict[str, str]
    form: FormReading
    corrections: dict[str, Correction]


def form_rows(form: FormReading) -> list[dict[str, Any]]:
    """A form's fields as `fields` table rows, in the record's order."""
    placed: list[tuple[int | None, str, FieldReading]] = [
        (None, key, reading) for key, reading in form.fields.items()
    ]
    for row, indicator in enumerate(form.indicators):
        placed.extend((row, key, reading) for key, reading in indicator.items())
    return [
        {
            "ordinal": ordinal,
            "row": row,
            "key": key,
            "value": reading.value,
            "raw": reading.raw,
            "confidence": reading.confidence,
            "review": reading.review,
            "page": reading.page,
            "bbox": reading.bbox,
            "evidence": reading.evidence.model_dump(),
        }
        for ordinal, (row, key, reading) in enumerate(placed)
    ]


def reading_of(
    file: str, form: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> FormReading:
    """A form and its field rows put back together: `form_rows` undone."""
    reading = FormReading(
        file=file,
        pages=list(form["pages"]),
        form_type=form["form_type"],
        issues=list(form["issues"]),
    )
    for r in sorted(rows, key=lambda r: r["ordinal"]):
        field = FieldReading(
            value=r["value"],
            raw=r["raw"],
            page=r["page"],
            bbox=r["bbox"],
            evidence=Evidence.model_validate(r["evidence"]),
            confidence=r["confidence"],
            review=bool(r["review"]),
        )
        if r["row"] is None:
            reading.fields[r["key"]] = field
        else:
            while len(reading.indicators) <= r["row"]:
                reading.indicators.append({})
            reading.indicators[r["row"]][r["key"]] = field
    return reading


def as_utc(when: datetime) -> datetime:
    """`when` as UTC: SQLite gives back the naive UTC time the store wrote."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
