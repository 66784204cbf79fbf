"""Truth files of both form types, as `shared/spec/record-format.md` defines them.

`pipeline.records.GoldRecord` reads the truth of any form type, its keys its type's; the
models below keep what the generators write of the second type to exactly the spec's keys.
Both types go through one writer, which writes an approval record exactly as
`pipeline.records.write_gold` does, so existing corpora stay byte-for-byte the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.records import GoldRecord

SELF_EVALUATION = "performance_self_evaluation"

FUNDS_ROWS = ("total", "fiscal", "carryover", "other")
FUNDS_COLUMNS = ("initial", "budget", "executed")
# The spec's scalar keys of the self-evaluation, in the order the page prints them.
SELF_EVALUATION_SCALAR_KEYS: tuple[str, ...] = (
    "year",
    "project_name",
    "department",
    "implementing_unit",
    *(f"funds_{row}_{column}" for row in FUNDS_ROWS for column in FUNDS_COLUMNS),
    "funds_weight",
    "funds_rate",
    "funds_score",
    "goal_expected",
    "goal_actual",
    "total_weight",
    "total_score",
)
SELF_EVALUATION_INDICATOR_KEYS: tuple[str, ...] = (
    "level1",
    "level2",
    "seq",
    "name",
    "target",
    "actual",
    "weight",
    "score",
    "deviation",
)


class ScoredIndicatorTruth(BaseModel):
    """One filled 三级指标 row of a self-evaluation's truth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level1: str
    level2: str
    seq: str
    name: str
    target: str
    actual: str
    weight: str
    score: str
    deviation: str


class SelfEvaluationTruth(BaseModel):
    """The correct record of one 项目支出绩效自评表; its scalar keys are exactly the spec's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    form_type: Literal["performance_self_evaluation"] = SELF_EVALUATION
    fields: dict[str, str]
    indicators: list[ScoredIndicatorTruth] = Field(default_factory=list)

    @model_validator(mode="after")
    def _spec_keys(self) -> SelfEvaluationTruth:
        if tuple(self.fields) != SELF_EVALUATION_SCALAR_KEYS:
            raise ValueError(
                f"self-evaluation fields {list(self.fields)} are not the spec's "
                f"{list(SELF_EVALUATION_SCALAR_KEYS)}"
            )
        return self


Truth = GoldRecord | SelfEvaluationTruth


def write_truth(path: Path, records: Iterable[Truth]) -> None:
    """Write a truth file, one JSON object per form in page order, CJK kept readable."""
    path.write_text(
        "".join(json.dumps(r.model_dump(), ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )
