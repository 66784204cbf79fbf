"""A form type: its labels, fields, indicator table and rules, as data checked when loaded.

The form type is data (`pipeline/templates/*.yaml`, and the folders named in
`FORMSCAN_FORM_TYPES`), parsed into strict models that fail at load time when wrong;
everything the code knows about a form comes from its file: its record keys, how each is
read, checked, scored and exported, its confidence groups and its reviewers' labels.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

TEMPLATE_DIR = Path(__file__).parent / "templates"
FORM_TYPES_ENV = "FORMSCAN_FORM_TYPES"


# What a scalar value is: text; an amount in a unit the record drops (`286` of `286万元`); a
# number as printed (a score, `9.5`); a rate with its `%`. The last three compare as decimals.
FieldKind = Literal["text", "amount", "number", "rate"]
NUMERIC_KINDS: frozenset[str] = frozenset({"amount", "number", "rate"})


class FieldSpec(BaseModel):
    """A scalar field: the label left of its value, or the row and column heads it sits under.

    `anchors` name the labels that may stand left of the value (`项目名称 | value`); `row` and
    `column` those of a block of figures (`年度资金总额` × `全年预算数`): the value is the cell
    on the row label's row under the nearest column head above it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    anchors: list[str] = Field(default_factory=list)
    row: list[str] = Field(default_factory=list)
    column: list[str] = Field(default_factory=list)
    kind: FieldKind = "text"
    unit: str | None = None
    required: bool = Field(default=False, description="Every form fills it: empty is a misread.")
    pattern: str | None = Field(
        default=None,
        description="What a whole value looks like, after normalising (a regular expression); "
        "a value read otherwise is flagged, never changed.",
    )
    lexicon: bool = Field(
        default=False,
        description="Its values repeat across forms (a unit's name): reviewers' answers and "
        "imported lists make a lexicon of them, and a reading a small edit from one is "
        "offered as it (`pipeline.lexicon`).",
    )

    @model_validator(mode="after")
    def _one_address(self) -> FieldSpec:
        if bool(self.anchors) == bool(self.row and self.column) or bool(self.row) != bool(
            self.column
        ):
            raise ValueError(f"field {self.key}: give either anchors, or both row and column")
        return self

    @property
    def label(self) -> str:
        """The label a reviewer finds it under on the form."""
        return self.anchors[0] if self.anchors else f"{self.row[0]} · {self.column[0]}"

    @property
    def labels(self) -> list[str]:
        """Every label that addresses it."""
        return [*self.anchors, *self.row, *self.column]


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


# What an indicator column holds, and so how it is read, checked and scored: the 一级 and
# 二级 names of the vocabulary (`level1`, `level2`); the row's own name (`name`, one per
# table); a 指标值 as printed, sign and unit and all (`value`); a number as printed (a
# weight or a score), compared as a decimal (`number`); free text (`text`).
ColumnKind = Literal["level1", "level2", "name", "value", "number", "text"]


class ColumnSpec(BaseModel):
    """One column of the indicator table: its record key, printed header and kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    header: str
    kind: ColumnKind
    required: bool = Field(
        default=False, description="Every filled row prints it: empty is a misread."
    )
    lexicon: bool = Field(
        default=False,
        description="Its values repeat across forms (三级 names): kept in a lexicon, as a "
        "field's `lexicon`.",
    )


class IndicatorSpec(BaseModel):
    """The indicator table: its columns, how its rows are numbered, its vocabularies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[ColumnSpec] = Field(min_length=1)
    line_label: str | None = Field(
        default=None,
        description="The label each line prints with its number (`指标1:`); None where the "
        "form prints none, and a row's `seq` is its place among its 二级 block's rows.",
    )
    end_row: str | None = Field(
        default=None,
        description="The label of a row that closes the table (总分): no indicator row.",
    )
    note_pattern: str = "$^"
    vocabulary: dict[str, list[str]] = Field(default_factory=dict)
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
    all_blocks: bool = Field(
        default=False,
        description="The form prints every 二级 block of the vocabulary, empty lines and all: "
        "a block not read is a block lost, which tells a damaged form from a whole one.",
    )

    @model_validator(mode="after")
    def _one_name_column(self) -> IndicatorSpec:
        kinds = [c.kind for c in self.columns]
        keys = [c.key for c in self.columns]
        if kinds.count("name") != 1 or any(kinds.count(k) > 1 for k in ("level1", "level2")):
            raise ValueError("the indicator table needs one name column, at most one of each level")
        if len(set(keys)) != len(keys) or "seq" in keys:
            raise ValueError(f"indicator column keys must be distinct and not seq: {keys}")
        if self.blocks_in_order and not (
            self.line_label and "level1" in kinds and "level2" in kinds
        ):
            raise ValueError("blocks_in_order needs printed line labels and both level columns")
        if self.line_label and "value" not in kinds:
            raise ValueError("a table that prints line labels needs a value column")
        return self

    @property
    def headers(self) -> dict[str, str]:
        """Column key → printed header, left to right."""
        return {c.key: c.header for c in self.columns}

    @property
    def keys(self) -> list[str]:
        """A row's record keys: its levels, its number, its name, then the other columns."""
        levels = [c.key for c in self.columns if c.kind in ("level1", "level2")]
        rest = [c.key for c in self.columns if c.kind not in ("level1", "level2")]
        return [*levels, "seq", *rest]

    def key_of(self, kind: ColumnKind) -> str | None:
        """The key of the first column of `kind`; None where the table has none."""
        return next((c.key for c in self.columns if c.kind == kind), None)

    def keys_of(self, kind: ColumnKind) -> list[str]:
        """The keys of every column of `kind`."""
        return [c.key for c in self.columns if c.kind == kind]

    def kind_of(self, key: str) -> str:
        """A row key's kind; `seq` is its own."""
        return next((c.kind for c in self.columns if c.key == key), key)


# Typed cross-field rules. A rule flags, never changes: each field it ties gets the failure,
# and a rule that holds on every rightly printed form contradicts them (to review).


class SumRule(BaseModel):
    """Scalar `total` is the sum of `parts` (a blank one 0), where it and the first are printed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sum"] = "sum"
    total: str
    parts: list[str] = Field(min_length=1)

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [self.total, *self.parts], []


class CostRule(BaseModel):
    """A `level2` row's value in `unit` is not above scalar `total`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["cost_within_total"] = "cost_within_total"
    level2: str
    unit: str
    total: str

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [self.total], []


class UnitRule(BaseModel):
    """A row's `column` value that is a number always carries its unit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["number_needs_unit"] = "number_needs_unit"
    column: str

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [], [self.column]


class RatioRule(BaseModel):
    """Scalar `result` (a rate, `99.97%`) is `numerator` / `denominator`, to its printed places."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ratio"] = "ratio"
    result: str
    numerator: str
    denominator: str

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [self.result, self.numerator, self.denominator], []


class RowAtMostRule(BaseModel):
    """Each row's `column` is not above its `limit` column (得分 ≤ 分值)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["row_at_most"] = "row_at_most"
    column: str
    limit: str

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [], [self.column, self.limit]


class ColumnTotalRule(BaseModel):
    """The rows' `column`, plus scalars `plus`, add up to scalar `total` (weights to 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["column_total"] = "column_total"
    column: str
    plus: list[str] = Field(default_factory=list)
    total: str

    def names(self) -> tuple[list[str], list[str]]:
        """The scalar keys and the indicator column keys the rule ties."""
        return [*self.plus, self.total], [self.column]


Rule = Annotated[
    SumRule | CostRule | UnitRule | RatioRule | RowAtMostRule | ColumnTotalRule,
    Field(discriminator="kind"),
]


class Template(BaseModel):
    """One form type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: str
    version: str
    export_name: str = Field(
        max_length=20,
        pattern=r"^[a-z0-9_]+$",
        description="Its tables' name in CSV files and XLSX sheets (a sheet name holds 31 "
        "characters).",
    )
    titles: list[str] = Field(
        min_length=1,
        description="The titles printed above its table, the usual one first; a page "
        "titled so is a page of this type.",
    )
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
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules_name_known_fields(self) -> Template:
        scalars = set(self.scalar_keys)
        columns = set(self.indicators.headers)
        for rule in self.rules:
            named = rule.names()
            unknown = [k for k in named[0] if k not in scalars] + [
                k for k in named[1] if k not in columns
            ]
            if unknown:
                raise ValueError(f"rule {rule.kind} names unknown fields {unknown}")
        return self

    @property
    def title(self) -> str:
        """The title most of its forms print."""
        return self.titles[0]

    @property
    def scalar_keys(self) -> list[str]:
        """A record's scalar keys, in the spec's order: the year, then the fields."""
        return ["year", *(spec.key for spec in self.fields)]

    @property
    def numeric_keys(self) -> frozenset[str]:
        """Scalar keys and row keys (`indicators.KEY`) that compare as decimals."""
        return frozenset(
            [spec.key for spec in self.fields if spec.kind in NUMERIC_KINDS]
            + [f"indicators.{k}" for k in self.indicators.keys_of("number")]
        )

    @property
    def lexicon_keys(self) -> list[str]:
        """Keys whose values make a lexicon: scalar keys, and row keys as `indicators.KEY`."""
        return [s.key for s in self.fields if s.lexicon] + [
            f"indicators.{c.key}" for c in self.indicators.columns if c.lexicon
        ]

    def group_of(self, key: str) -> str:
        """A field's kind, as the confidence models group fields: `year`, `text`, `amount`.

        Row keys (`indicators.KEY`) by their column's kind: `indicators.value`, and so on.
        """
        if key.startswith("indicators."):
            return "indicators." + self.indicators.kind_of(key.removeprefix("indicators."))
        spec = next((s for s in self.fields if s.key == key), None)
        return spec.kind if spec is not None else "year" if key == "year" else "text"

    @property
    def labels(self) -> list[str]:
        """Every label the form prints: the fields' labels and the indicator column headers."""
        return [
            *(a for spec in self.fields for a in spec.labels),
            *self.indicators.headers.values(),
        ]

    @property
    def level1_of(self) -> dict[str, str]:
        """二级 name → its 一级 name."""
        return {l2: l1 for l1, names in self.indicators.vocabulary.items() for l2 in names}

    @property
    def level2_names(self) -> list[str]:
        """The 二级 names, in the vocabulary's order."""
        return list(self.level1_of)


def template_dirs() -> list[Path]:
    """Where form types are read from: the built-in folder, then `FORMSCAN_FORM_TYPES`.

    An archive adds a form type as a file in a folder of its own, named in that variable
    (folders separated as in PATH); a file there of a built-in type's name takes its place.
    """
    extra = os.environ.get(FORM_TYPES_ENV, "")
    return [TEMPLATE_DIR, *(Path(p) for p in extra.split(os.pathsep) if p)]


def _template_files() -> dict[str, Path]:
    return _files_in(tuple(template_dirs()))


@cache
def _files_in(folders: tuple[Path, ...]) -> dict[str, Path]:
    return {p.stem: p for folder in folders for p in sorted(folder.glob("*.yaml"))}


def known_form_types() -> list[str]:
    """Every form type with a file in `template_dirs()`."""
    return sorted(_template_files())


def load_template(form_type: str) -> Template:
    """Load and check a template by form type; a broken template fails here, loudly."""
    path = _template_files().get(form_type)
    if path is None:
        known = ", ".join(known_form_types())
        raise FileNotFoundError(f"no template for form type {form_type!r}; known: {known}")
    return read_template(path)


def load_templates(names: Sequence[str] | None = None) -> list[Template]:
    """The form types named (by default every known one), checked to export apart.

    Two types of one `export_name` would write one CSV file and one pair of XLSX sheets.
    """
    templates = [load_template(name) for name in (names or known_form_types())]
    by_name: dict[str, str] = {}
    for template in templates:
        other = by_name.setdefault(template.export_name, template.form_type)
        if other != template.form_type:
            raise ValueError(
                f"form types {other} and {template.form_type} share the export name "
                f"{template.export_name!r}; give one of them another"
            )
    return templates


def field_group(form_type: str, key: str) -> str:
    """A field's kind (`Template.group_of`); for a type this version does not know, `text`.

    `key` is a scalar key or `indicators.KEY`.
    """
    try:
        return load_template(form_type).group_of(key)
    except FileNotFoundError:  # a store read with a form type this version lacks
        return "text"


def lexicon_keys(form_type: str) -> list[str]:
    """A form type's lexicon keys (`Template.lexicon_keys`); none for a type this version lacks."""
    try:
        return load_template(form_type).lexicon_keys
    except FileNotFoundError:
        return []


def is_numeric(form_type: str, key: str) -> bool:
    """Whether a field (`KEY` or `indicators.KEY`) compares as a decimal number."""
    try:
        return key in load_template(form_type).numeric_keys
    except FileNotFoundError:
        return False


@cache
def read_template(path: Path) -> Template:
    """Parse and check one form type's file; the name of the file is the form type's."""
    try:
        template = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        if template.form_type != path.stem:
            raise ValueError(f"form_type {template.form_type!r} is not the file's name")
        for pattern in (
            template.year.pattern,
            template.indicators.note_pattern,
            template.indicators.name_pattern,
            template.indicators.value_at_end,
            *(spec.pattern or "" for spec in template.fields),
        ):
            re.compile(pattern)
    except (ValueError, re.error, yaml.YAMLError) as error:
        raise ValueError(f"{path}: {error}") from error
    return template
