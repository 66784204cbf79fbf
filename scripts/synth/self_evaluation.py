"""What a 项目支出绩效自评表 says: the year-end self-evaluation of an approved project.

A `SelfEvaluation` is the printed content of one such form, derived from the approval form
(`synth.content.Sheet`) of the same project: same year, project, department, unit, and the
same 三级指标 with their 指标值 as 年度指标值. Its numbers keep the spec's relations (column
sums, 执行率, weights adding to 100, scores adding to the total), except on the few forms that
carry a printed slip; `slip` names the relation the slip breaks, and the truth keeps what is
printed. Its truth record (`SelfEvaluation.gold()`) is derived from it like `Sheet.gold()`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from truth_files import FUNDS_COLUMNS, ScoredIndicatorTruth, SelfEvaluationTruth

from synth.content import LEVEL1_OF, Sheet, invent_sheet

TITLES = ["项目支出绩效自评表"] * 3 + ["部门预算项目支出绩效自评表"]
FISCAL_LABELS = ["其中：当年财政拨款", "其中：本年财政拨款"]
# What the non-total funds rows print under 分值, 执行率 and 得分.
NOT_SCORED_MARKS = ["—", "/", ""]
# Points of each 一级指标 for a given weight of the funds row (the national template's split).
LEVEL1_POINTS = {
    Decimal(10): {"产出指标": 50, "效益指标": 30, "满意度指标": 10},
    Decimal(20): {"产出指标": 40, "效益指标": 30, "满意度指标": 10},
}
SLIP_SHARE = 0.08  # forms with one printed slip, for the validators' rules to catch
SLIPS = ("funds_column", "funds_rate", "row_score", "weights", "total_score")
CENT = Decimal("0.01")

REASONS = [
    "部分工作受天气影响推迟开展",
    "资金拨付时间较晚，项目实施进度滞后",
    "年中政策调整，补助对象人数有所减少",
    "部分服务对象情况变化，未纳入本年度发放范围",
    "预算编制不够精准，实际支出低于预算",
    "项目验收工作尚未全部完成",
    "宣传不够到位，群众知晓率有待提高",
]
MEASURES = [
    "下一步将加强项目管理，确保按期完成。",
    "今后将科学合理编制预算，提高预算执行率。",
    "加强与相关部门的沟通协调，加快工作进度。",
    "加快资金拨付进度，提高资金使用效益。",
    "进一步加强宣传，提升服务质量。",
]
ON_TARGET = ["已按计划完成年度目标，无偏差。", "指标完成情况良好，达到预期。", "无偏差，"]
ACHIEVED = ["已完成年度目标", "按计划完成", "达到预期目标", "已完成"]
GOAL_ACTUAL = [
    "{name}已按计划实施完毕，资金执行率{rate}，",
    "截至{year}年12月底，{name}各项工作已全部完成，",
    "本年度{name}严格按照预算执行，",
]
GOAL_RESULTS = [
    "保障了相关工作正常开展，服务对象满意度较高。",
    "达到了预期绩效目标，取得了较好的社会效益。",
    "各项绩效指标基本完成，资金使用规范。",
    "有效提升了工作质量和水平，群众获得感明显增强。",
]
GOAL_EXTRA = [
    "项目实施过程中严格执行财务管理制度，做到专款专用，",
    "单位成立了项目绩效管理工作领导小组，明确了责任分工，",
    "通过定期检查和跟踪问效，及时发现并解决实施中存在的问题，",
    "按照绩效目标管理要求，对项目实施情况进行了全过程监控，",
]
NUMERIC_TARGET = re.compile(r"^(≥|≤|>|<)?(\d+(?:\.\d+)?)(.*)$")


@dataclass(frozen=True)
class FundsLine:
    """One row of the funds block as printed: amounts and, on the total row, 分值/执行率/得分."""

    key: str  # total, fiscal, carryover, other
    label: str
    initial: str
    budget: str
    executed: str
    weight: str
    rate: str
    score: str


@dataclass(frozen=True)
class ScoredIndicator:
    """One 三级指标 row as printed; blanks are ""."""

    name: str
    target: str
    actual: str
    weight: str
    score: str
    deviation: str


@dataclass(frozen=True)
class ScoredBlock:
    """One 二级指标 with its rows."""

    level2: str
    rows: tuple[ScoredIndicator, ...]

    @property
    def level1(self) -> str:
        """The 一级指标 this 二级指标 belongs to."""
        return LEVEL1_OF[self.level2]


@dataclass(frozen=True)
class SelfEvaluation:
    """The printed content of one 项目支出绩效自评表."""

    title: str
    year: str
    project_name: str
    department: str
    implementing_unit: str
    funds: tuple[FundsLine, ...]  # total, fiscal, carryover, other
    goal_expected: str
    goal_actual: str
    blocks: tuple[ScoredBlock, ...]
    total_weight: str
    total_score: str
    points: dict[str, str] = field(default_factory=dict)  # 一级指标 -> points printed beside it
    slip: str = ""  # the relation a printed slip breaks, "" on a correct form

    def level1_label(self, level1: str) -> str:
        """The 一级指标 cell as printed, e.g. 产出指标（50分）."""
        points = self.points.get(level1)
        return f"{level1}（{points}分）" if points else level1

    def gold(self) -> SelfEvaluationTruth:
        """The truth record of this form, exactly as `record-format.md` defines it."""
        fields = {
            "year": self.year,
            "project_name": self.project_name,
            "department": self.department,
            "implementing_unit": self.implementing_unit,
        }
        for line in self.funds:
            for column in FUNDS_COLUMNS:
                fields[f"funds_{line.key}_{column}"] = getattr(line, column)
        total = self.funds[0]
        fields |= {
            "funds_weight": total.weight,
            "funds_rate": total.rate,
            "funds_score": total.score,
            "goal_expected": self.goal_expected,
            "goal_actual": self.goal_actual,
            "total_weight": self.total_weight,
            "total_score": self.total_score,
        }
        rows = [
            ScoredIndicatorTruth(
                level1=block.level1,
                level2=block.level2,
                seq=str(seq),
                name=row.name,
                target=row.target,
                actual=row.actual,
                weight=row.weight,
                score=row.score,
                deviation=row.deviation,
            )
            for block in self.blocks
            for seq, row in enumerate(block.rows, start=1)
        ]
        return SelfEvaluationTruth(fields=fields, indicators=rows)


Form = Sheet | SelfEvaluation


def invent_self_evaluation(rng: random.Random, *, long: bool = False) -> SelfEvaluation:
    """A plausible self-evaluation of an invented project; `long` overflows a page."""
    return self_evaluation_of(invent_sheet(rng, long=long), rng, long=long)


def self_evaluation_of(sheet: Sheet, rng: random.Random, *, long: bool = False) -> SelfEvaluation:
    """The year-end self-evaluation of the project that `sheet` approved."""
    approved = sheet.gold().fields
    funds_weight = rng.choice([Decimal(10)] * 4 + [Decimal(20)])
    funds = _funds(approved, funds_weight, rng)
    blocks = _scored_blocks(sheet, funds_weight, long, rng)
    weights = [Decimal(r.weight) for b in blocks for r in b.rows]
    points = {}
    if rng.random() < 0.5:
        for block in blocks:
            level_rows = [r for b in blocks if b.level1 == block.level1 for r in b.rows]
            points[block.level1] = _plain(sum(Decimal(r.weight) for r in level_rows))
    scores = [Decimal(r.score) for b in blocks for r in b.rows]
    evaluation = SelfEvaluation(
        title=rng.choice(TITLES),
        year=sheet.year,
        project_name=sheet.project_name,
        department=sheet.department,
        implementing_unit=sheet.implementing_unit,
        funds=funds,
        goal_expected=_goal_expected(sheet, long, rng),
        goal_actual=_goal_actual(sheet, funds[0].rate, long, rng),
        blocks=blocks,
        total_weight=_plain(funds_weight + sum(weights)),
        total_score=_plain(Decimal(funds[0].score) + sum(scores)),
        points=points,
    )
    if rng.random() < SLIP_SHARE:
        evaluation = _with_slip(evaluation, rng.choice(SLIPS), rng)
    return evaluation


# ---- the funds block ---------------------------------------------------------------------------


def _funds(approved: dict[str, str], weight: Decimal, rng: random.Random) -> tuple[FundsLine, ...]:
    """The four funds rows: 年初 as approved, 全年 adjusted now and then, 执行 at most 全年."""
    fiscal_initial = Decimal(approved["funds_fiscal"] or "0")
    other_printed = approved["funds_other"]
    other_initial = Decimal(other_printed or "0")
    places = max(2, *(_places(approved[k]) for k in ("funds_total", "funds_fiscal")))
    quantum = Decimal(1).scaleb(-places)

    fiscal_budget = fiscal_initial
    if rng.random() < 0.35:
        fiscal_budget = (fiscal_initial * Decimal(str(rng.uniform(0.8, 1.25)))).quantize(quantum)
    carryover_budget = Decimal(0)
    if rng.random() < 0.3:
        carryover_budget = (fiscal_initial * Decimal(str(rng.uniform(0.05, 0.3)))).quantize(quantum)
    budgets = {"fiscal": fiscal_budget, "carryover": carryover_budget, "other": other_initial}
    initials = {"fiscal": fiscal_initial, "carryover": Decimal(0), "other": other_initial}
    executed = {k: _spent(v, quantum, rng) for k, v in budgets.items()}

    fixed = rng.random() < 0.4  # the clerk's cells show two (or three) decimals throughout
    mark = rng.choice(NOT_SCORED_MARKS)

    def show(amount: Decimal, printed: bool) -> str:
        if not printed:
            return ""
        return f"{amount.quantize(quantum):f}" if fixed else _plain(amount)

    total_budget = sum(budgets.values(), Decimal(0))
    total_executed = sum(executed.values(), Decimal(0))
    share = total_executed / total_budget if total_budget else Decimal(1)
    rate = (share * 100).quantize(CENT, ROUND_HALF_UP)
    score = (weight * share).quantize(CENT, ROUND_HALF_UP)
    carry_initial_zero = rng.random() < 0.2  # some print 0 where nothing was budgeted
    lines = [
        FundsLine(
            "total",
            "年度资金总额",
            show(sum(initials.values(), Decimal(0)), True),
            show(total_budget, True),
            show(total_executed, True),
            _plain(weight),
            f"{rate}%",
            _plain(score),
        ),
        FundsLine(
            "fiscal",
            rng.choice(FISCAL_LABELS),
            show(fiscal_initial, True),
            show(fiscal_budget, True),
            show(executed["fiscal"], True),
            mark,
            mark,
            mark,
        ),
        FundsLine(
            "carryover",
            "上年结转资金",
            show(Decimal(0), carry_initial_zero),
            show(carryover_budget, bool(carryover_budget) or carry_initial_zero),
            show(executed["carryover"], bool(carryover_budget) or carry_initial_zero),
            mark,
            mark,
            mark,
        ),
        FundsLine(
            "other",
            "其他资金",
            show(other_initial, bool(other_printed)),
            show(other_initial, bool(other_printed)),
            show(executed["other"], bool(other_printed)),
            mark,
            mark,
            mark,
        ),
    ]
    return tuple(lines)


def _spent(budget: Decimal, quantum: Decimal, rng: random.Random) -> Decimal:
    if rng.random() < 0.4:
        return budget
    return (budget * Decimal(str(rng.uniform(0.82, 1.0)))).quantize(quantum)


# ---- the indicator table -----------------------------------------------------------------------


def _scored_blocks(
    sheet: Sheet, funds_weight: Decimal, long: bool, rng: random.Random
) -> tuple[ScoredBlock, ...]:
    """The approval's 三级指标 (less the `无` lines) with their results, weights and scores."""
    kept = [
        (b.level2, [line for line in b.lines if line.name and line.name != "无"])
        for b in sheet.blocks
    ]
    kept = [(level2, lines) for level2, lines in kept if lines]
    split = dict(LEVEL1_POINTS[funds_weight])
    present = {LEVEL1_OF[level2] for level2, _ in kept}
    for level1 in [k for k in split if k not in present]:
        # A 一级指标 without rows gives its points to the first one that has some.
        split[next(k for k in split if k in present)] += split.pop(level1)
    weights: dict[str, list[int]] = {}
    for level1, points in split.items():
        count = sum(len(lines) for level2, lines in kept if LEVEL1_OF[level2] == level1)
        weights[level1] = _split_points(points, count, rng)
    # Some units leave every deviation cell empty; the long forms explain every row.
    all_blank = not long and rng.random() < 0.2
    blocks = []
    for level2, lines in kept:
        rows = []
        for line in lines:
            weight = weights[LEVEL1_OF[level2]].pop(0)
            actual, met = _actual(line.value, rng)
            score = _score(weight, met, rng)
            deviation = "" if all_blank else _deviation(score < weight, long, rng)
            rows.append(
                ScoredIndicator(
                    line.name, line.value, actual, str(weight), _plain(score), deviation
                )
            )
        blocks.append(ScoredBlock(level2, tuple(rows)))
    return tuple(blocks)


def _split_points(points: int, count: int, rng: random.Random) -> list[int]:
    """`points` as `count` whole weights of at least 1, near even, a little uneven."""
    weights = [points // count + (1 if i < points % count else 0) for i in range(count)]
    floor = 2 if points // count >= 4 else 1
    for _ in range(count):
        a, b = rng.randrange(count), rng.randrange(count)
        step = rng.choice([1, 2])
        if a != b and weights[a] - step >= floor:
            weights[a] -= step
            weights[b] += step
    return weights


def _actual(target: str, rng: random.Random) -> tuple[str, bool]:
    """What was achieved against `target`, and whether it met it."""
    met = rng.random() < 0.85
    match = NUMERIC_TARGET.match(target)
    if not target:
        return rng.choice(ACHIEVED), met
    # A number with a plain unit (≥90%, 199人, ≤286万元); dates such as 1月和2月 are text.
    if not match or any(c.isdigit() for c in match.group(3)):
        return (target if rng.random() < 0.7 else rng.choice(ACHIEVED)), met
    sign, number, unit = match.groups()
    value = Decimal(number)
    places = _places(number)
    if sign in ("≥", ">"):
        ceiling = Decimal(100) if unit == "%" else value * Decimal("1.2") + 1
        low, high = (value, ceiling) if met else (value * Decimal("0.85"), value)
    elif sign in ("≤", "<"):
        low, high = (value * Decimal("0.85"), value) if met else (value, value * Decimal("1.1"))
    else:
        low, high = (value, value) if met else (value * Decimal("0.9"), value)
    achieved = low + (high - low) * Decimal(str(rng.random()))
    achieved = achieved.quantize(Decimal(1).scaleb(-places))
    if not met and achieved == value:
        met = True  # rounding landed on the target itself
    return _plain(achieved) + unit, met


def _score(weight: int, met: bool, rng: random.Random) -> Decimal:
    if met and rng.random() < 0.85:
        return Decimal(weight)
    loss = Decimal(rng.choice(["0.5", "1", "1", "1.5", "2", "0.2", "0.8"]))
    return max(Decimal(0), Decimal(weight) - loss)


def _deviation(short: bool, long: bool, rng: random.Random) -> str:
    if not short and long:
        return rng.choice(ON_TARGET) + rng.choice(MEASURES)
    if not short:
        return rng.choice(["", "", "", "", "无", "无偏差"])
    reasons = rng.sample(REASONS, 2 if long or rng.random() < 0.2 else 1)
    return "；".join(reasons) + "，" + rng.choice(MEASURES)


# ---- goals -------------------------------------------------------------------------------------


def _goal_expected(sheet: Sheet, long: bool, rng: random.Random) -> str:
    goal = sheet.overall_goal or f"保障{sheet.project_name}顺利实施，提高资金使用效益。"
    if long or rng.random() < 0.3:
        goal += "".join(rng.sample(GOAL_EXTRA, 2)) + rng.choice(GOAL_RESULTS)
    return goal


def _goal_actual(sheet: Sheet, rate: str, long: bool, rng: random.Random) -> str:
    opening = rng.choice(GOAL_ACTUAL).format(year=sheet.year, name=sheet.project_name, rate=rate)
    text = opening + rng.choice(GOAL_RESULTS)
    if long or rng.random() < 0.3:
        text = opening + "".join(rng.sample(GOAL_EXTRA, 2)) + rng.choice(GOAL_RESULTS)
    return text


# ---- slips -------------------------------------------------------------------------------------


def _with_slip(form: SelfEvaluation, slip: str, rng: random.Random) -> SelfEvaluation:
    """The same form with one printed number wrong, so that exactly relation `slip` breaks."""
    if slip == "funds_column":
        fiscal = form.funds[1]
        column = rng.choice(FUNDS_COLUMNS)
        wrong = _nudged(getattr(fiscal, column), rng)
        funds = (form.funds[0], replace(fiscal, **{column: wrong}), *form.funds[2:])
        return replace(form, funds=funds, slip=slip)
    if slip == "funds_rate":
        total = form.funds[0]
        wrong = _nudged(total.rate.removesuffix("%"), rng)
        return replace(form, funds=(replace(total, rate=wrong + "%"), *form.funds[1:]), slip=slip)
    if slip == "total_score":
        return replace(form, total_score=_nudged(form.total_score, rng), slip=slip)
    # Row slips: one row's score above its weight, or one weight off by one (sum ≠ 100).
    b = rng.randrange(len(form.blocks))
    block = form.blocks[b]
    r = rng.randrange(len(block.rows))
    row = block.rows[r]
    if slip == "row_score":
        score = Decimal(row.weight) + Decimal(rng.choice(["0.5", "1", "2"]))
        changed = replace(row, score=_plain(score))
        total = Decimal(form.total_score) - Decimal(row.score) + score
        form = replace(form, total_score=_plain(total))
    else:
        changed = replace(row, weight=str(int(row.weight) + 1))
    rows = (*block.rows[:r], changed, *block.rows[r + 1 :])
    blocks = (*form.blocks[:b], replace(block, rows=rows), *form.blocks[b + 1 :])
    return replace(form, blocks=blocks, slip=slip)


def _nudged(printed: str, rng: random.Random) -> str:
    """`printed` with a typing slip: a digit off, or two digits swapped; never the same value."""
    value = Decimal(printed)
    places = _places(printed)
    step = Decimal(1).scaleb(-places) * rng.choice([1, 1, 10])
    wrong = value + step if rng.random() < 0.5 or value - step < 0 else value - step
    return f"{wrong:.{places}f}"


# ---- numbers -----------------------------------------------------------------------------------


def _places(printed: str) -> int:
    return len(printed.split(".")[1]) if "." in printed else 0


def _plain(amount: Decimal) -> str:
    """A decimal as printed without trailing zeros: 10, 9.5, 286.3."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
