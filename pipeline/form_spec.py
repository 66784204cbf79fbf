"""A form type: its labels, fields, indicator table and rules, as data checked when loaded.

The form type is data (`pipeline/templates/*.yaml`), parsed into strict models that fail at
load time when wrong; everything the code knows about a form comes from its file.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

TEMPLATE_DIR = Path(__file__).parent / "templates"


class FieldSpec(BaseModel):
    """A scalar field: the labels that may stand left of its value, and its kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    anchors: list[str] = Field(min_length=1)
    kind: Literal["text", "amount"] = "text"
    unit: str | None = None
    required: bool = Field(default=False, description="Every form fills it: empty is a misread.")
    pattern: str | None = Field(
        default=None,
        description="What a whole value looks like, after normalising (a regular expression); "
        "a value read otherwise is flagged, never changed.",
    )


class YearSpec(BaseModel):
    """Where the year is printed and how to pick it out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str
    where: Literal["above_table"] = "above_table"
    also_in: list[str] = Field(
        default_factory=list,
        description="Fields that often start with the year (`2024年…`): where the line above "
        "the table did not read (a seal pressed over it), the year is taken from the first "
        "of them, and the field stays unfound, for review.",
    )


class IndicatorSpec(BaseModel):
    """The indicator table: its column headers, line label, note pattern and vocabularies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[Literal["level1", "level2", "name", "value"], str]
    line_label: str
    note_pattern: str
    vocabulary: dict[str, list[str]]
    name_pattern: str = Field(
        default=".",
        description="What every 三级 name holds somewhere; a line without it is specks, no row.",
    )
    value_at_end: str = Field(
        default="",
        description="A numeric 指标值 at the end of a text. It is taken out of a 三级 name "
        "beside an empty value cell (read into the name's cell); a name that is one whole is "
        "no row; a name that ends in one, or a value with a stray character before one, is "
        "flagged.",
    )
    blocks_in_order: bool = Field(
        default=False,
        description="The form prints its 二级 blocks in the vocabulary's order, each numbering "
        "its lines from 1; a row's block is then read from the order of the rows too.",
    )


class SumRule(BaseModel):
    """`total` equals the sum of `parts` where they are printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    total: str
    parts: list[str]


class CostRule(BaseModel):
    """A `level2` indicator value in `unit` is not above field `total`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level2: str
    unit: str
    total: str


class Rules(BaseModel):
    """Cross-field checks of the form type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sum: SumRule | None = None
    cost_within_total: CostRule | None = None
    number_needs_unit: bool = Field(
        default=False, description="A 指标值 that is a number always carries its unit."
    )


class Template(BaseModel):
    """One form type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str
    version: str
    title: str
    first_page_anchor: str
    stray_marks: str = Field(
        default="",
        description="Characters that, at the start or end of a value, are a reader's tick or "
        "dust rather than print; the checker drops them and says so.",
    )
    misread_signs: dict[str, str] = Field(
        default_factory=dict,
        description="Plain signs a worn copy reads where the form prints another (`>` for "
        "`≥`); the checker puts the printed one back and records it.",
    )
    most_columns: int | None = Field(
        default=None,
        description="The most column lines a page of the form prints. A grid that finds more "
        "took a seal's or a pen's strokes for rulings and cut cells where the form has none: "
        "nothing read on that page is taken as read.",
    )
    year: YearSpec
    fields: list[FieldSpec]
    indicators: IndicatorSpec
    rules: Rules = Rules()

    @property
    def labels(self) -> list[str]:
        """Every label the form prints: the fields' anchors and the indicator column headers."""
        return [
            *(a for spec in self.fields for a in spec.anchors),
            *self.indicators.columns.values(),
        ]

    @property
    def level1_of(self) -> dict[str, str]:
        """二级 name → its 一级 name."""
        return {l2: l1 for l1, names in self.indicators.vocabulary.items() for l2 in names}

    @property
    def level2_names(self) -> list[str]:
        """The 二级 names, in the vocabulary's order."""
        return list(self.level1_of)


@cache
def load_template(form_type: str) -> Template:
    """Load and check a template by form type; a broken template fails here, loudly."""
    path = TEMPLATE_DIR / f"{form_type}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no template for form type {form_type!r}; known: {known}")
    template = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    re.compile(template.year.pattern)
    re.compile(template.indicators.note_pattern)
    re.compile(template.indicators.name_pattern)
    re.compile(template.indicators.value_at_end)
    for spec in template.fields:
        re.compile(spec.pattern or "")
    return template
