"""What a form says: the seven seed forms, and invented forms drawn from pools.

A `Sheet` is the printed content of one form, blanks and notes included; its truth record
(`Sheet.gold()`) is derived from it, so the truth is always what the page shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pipeline.records import FORM_TYPE, GoldRecord, read_gold

SEED_FILE = Path(__file__).parent / "data" / "seed-forms-2024.gold.jsonl"

LEVEL1_OF: dict[str, str] = {
    "数量指标": "产出指标",
    "质量指标": "产出指标",
    "时效指标": "产出指标",
    "成本指标": "产出指标",
    "经济效益指标": "效益指标",
    "社会效益指标": "效益指标",
    "生态效益指标": "效益指标",
    "可持续影响指标": "效益指标",
    "服务对象满意度指标": "满意度指标",
}
LEVEL2_ORDER = tuple(LEVEL1_OF)

# The note printed under each 二级指标 name, as the two styles of the seed forms have it.
NOTES_QUANTIFIED = {
    "数量指标": "（必填量化）",
    "质量指标": "（必填量化）",
    "时效指标": "（必填量化）",
    "成本指标": "（必填量化）",
    "经济效益指标": "（选填）",
    "社会效益指标": "（必填）",
    "生态效益指标": "（选填）",
    "可持续影响指标": "（选填）",
    "服务对象满意度指标": "（必填量化）",
}
NOTES_PLAIN = {
    **NOTES_QUANTIFIED,
    **{k: "（必填）" for k in LEVEL2_ORDER if "选填" not in NOTES_QUANTIFIED[k]},
}


@dataclass(frozen=True)
class IndicatorLine:
    """One 三级指标 line as printed: `指标{seq}: {name}` and its 指标值; blanks are ""."""

    seq: int
    name: str
    value: str

    @property
    def is_row(self) -> bool:
        """A line with both name and value blank (the usual empty 指标2) is not a truth row."""
        return bool(self.name or self.value)


@dataclass(frozen=True)
class Block:
    """One 二级指标 with its note and its lines; `filler` blank rows follow the lines."""

    level2: str
    note: str
    lines: tuple[IndicatorLine, ...]
    filler: int = 0
    dots: bool = False  # the seed forms sometimes print "....." in a filler row

    @property
    def level1(self) -> str:
        """The 一级指标 this 二级指标 belongs to."""
        return LEVEL1_OF[self.level2]


@dataclass(frozen=True)
class Sheet:
    """The printed content of one form."""

    year: str
    project_name: str
    department: str
    implementing_unit: str
    project_attribute: str
    project_period: str
    funds_total: str  # as printed, unit included when the form prints it
    funds_fiscal: str
    funds_other: str
    overall_goal: str
    blocks: tuple[Block, ...]
    goal_label: str = "年度总体目标"
    extra: dict[str, str] = field(default_factory=dict)

    def gold(self) -> GoldRecord:
        """The truth record of this sheet, exactly as `record-format.md` defines it."""
        fields = {
            "year": self.year,
            "project_name": self.project_name,
            "department": self.department,
            "implementing_unit": self.implementing_unit,
            "project_attribute": self.project_attribute,
            "project_period": self.project_period,
            "funds_total": _strip_unit(self.funds_total),
            "funds_fiscal": _strip_unit(self.funds_fiscal),
            "funds_other": _strip_unit(self.funds_other),
            "overall_goal": self.overall_goal,
        }
        rows = [
            {
                "level1": b.level1,
                "level2": b.level2,
                "seq": str(line.seq),
                "name": line.name,
                "value": line.value,
            }
            for b in self.blocks
            for line in b.lines
            if line.is_row
        ]
        return GoldRecord(form_type=FORM_TYPE, fields=fields, indicators=rows)


def _strip_unit(printed: str) -> str:
    return printed.removesuffix("万元").strip()


def seed_sheets() -> list[Sheet]:
    """The seven real forms of the seed set, printed the way the originals are."""
    sheets = []
    for index, record in enumerate(read_gold(SEED_FILE)):
        f = record.fields
        # The first original prints bare amounts, the others append 万元; the fourth uses
        # the plain （必填） notes.
        unit = "" if index == 0 else "万元"
        notes = NOTES_PLAIN if index == 3 else NOTES_QUANTIFIED
        blocks = []
        for row in record.indicators:
            lines = (
                IndicatorLine(int(row["seq"]), row["name"], row["value"]),
                IndicatorLine(2, "", ""),
            )
            blocks.append(
                Block(
                    row["level2"],
                    notes[row["level2"]],
                    lines,
                    filler=1 - index % 2,
                    dots=row["level2"] in ("生态效益指标", "可持续影响指标"),
                )
            )
        sheets.append(
            Sheet(
                year=f["year"],
                project_name=f["project_name"],
                department=f["department"],
                implementing_unit=f["implementing_unit"],
                project_attribute=f["project_attribute"],
                project_period=f["project_period"],
                funds_total=f["funds_total"] + unit,
                funds_fiscal=f["funds_fiscal"] + unit,
                funds_other=f["funds_other"] + (unit if f["funds_other"] else ""),
                overall_goal=f["overall_goal"],
                blocks=tuple(blocks),
                goal_label="年度总体" if index == 0 else "年度总体目标",
            )
        )
    return sheets


# ---- pools for invented forms ---------------------------------------------------------------

COUNTIES = [
    "原州区",
    "西吉县",
    "隆德县",
    "泾源县",
    "彭阳县",
    "金凤区",
    "兴庆区",
    "西夏区",
    "永宁县",
    "贺兰县",
    "灵武市",
    "沙坡头区",
    "中宁县",
    "海原县",
    "红寺堡区",
    "盐池县",
]
TOWNSHIPS = [
    "古雁街道",
    "南关街道",
    "北塬街道",
    "开城镇",
    "三营镇",
    "头营镇",
    "张易镇",
    "彭堡镇",
    "官厅镇",
    "中河乡",
    "河川乡",
    "寨科乡",
    "清河镇",
    "黄铎堡镇",
    "炭山乡",
]
BUREAUS = [
    "教育局",
    "民政局",
    "财政局",
    "卫生健康局",
    "农业农村局",
    "自然资源局",
    "住房和城乡建设局",
    "文化旅游广电局",
    "人力资源和社会保障局",
    "交通运输局",
    "水务局",
    "市场监督管理局",
    "退役军人事务局",
    "司法局",
    "应急管理局",
    "生态环境分局",
    "医疗保障局",
    "林业和草原局",
]
UNIT_SUFFIXES = [
    "",
    "机关",
    "办公室",
    "中心",
    "服务中心",
    "综合执法大队",
    "第一中学",
    "人民医院",
    "疾病预防控制中心",
    "图书馆",
    "文化馆",
    "社会福利院",
    "农业技术推广服务中心",
]
SUBJECTS = [
    "社区工作者",
    "村干部",
    "网格员",
    "公益性岗位人员",
    "低保对象",
    "特困供养人员",
    "退役军人",
    "残疾人",
    "留守儿童",
    "高龄老人",
    "义务教育学生",
    "乡村医生",
    "农村饮水工程",
    "农田水利设施",
    "公共文化场馆",
    "老年餐桌",
    "应急物资储备",
    "基层党组织",
    "人大代表",
    "志愿服务队伍",
]
ITEMS = [
    "工资",
    "补助资金",
    "岗位津贴",
    "工作经费",
    "运行维护经费",
    "专项资金",
    "生活补贴",
    "培训经费",
    "购置经费",
    "保险费",
    "免费开放资金",
    "救助补助资金",
    "奖补资金",
    "建设资金",
]
FUND_SOURCES = ["中央", "自治区", "中央和自治区", "市级", "区级", "本级"]
ATTRIBUTES = ["一年期项目"] * 6 + ["延续项目", "新增项目", "经常性项目", "跨年度项目"]

GOAL_USES = [
    "辖区{s}{i}的发放",
    "街道办所辖{n}个社区居委会的{s}{i}",
    "{s}{i}的保障",
    "开展{s}相关工作",
    "{s}日常运行",
    "{s}的培训和管理",
    "购买{s}服务",
]
GOAL_AIMS = [
    "保障{s}工作正常开展",
    "提高资金的利用效益",
    "保障困难群众顺利渡过难关",
    "进一步提升服务质量和水平",
    "确保各项政策落实到位",
    "做好基层治理和服务保障",
    "保障团组织工作质量进一步提高",
    "改善群众生产生活条件",
]

NAME_TEMPLATES: dict[str, list[tuple[str, list[str]]]] = {
    "数量指标": [
        ("{s}{i}发放人数", ["{n}人", "≥{n}人", "{n}名"]),
        ("开展{s}活动次数", ["≥{k}次", "{k}次"]),
        ("{s}覆盖率", ["100%", "≥95%", "≥98%"]),
        ("完成{s}项目数量", ["{k}个", "≥{k}个", "{k}项"]),
        ("人大工作计划完成率", ["100%"]),
    ],
    "质量指标": [
        ("{s}{i}发放标准", ["{m}元/人/年", "{w}万元/年/人", "{m}元/人/月"]),
        ("{s}工作完成情况", ["高质量完成", "合格", "达标"]),
        ("资金使用合规率", ["100%", "≥98%"]),
        ("验收合格率", ["100%", "≥95%"]),
    ],
    "时效指标": [
        ("{s}{i}发放及时率", ["及时", "100%"]),
        ("{i}发放时限", ["{mo}月和{mo2}月", "规定时限内", "{y}年12月底前", "按季度"]),
        ("项目完成及时性", ["及时", "按时完成"]),
    ],
    "成本指标": [
        ("控制在{y}年{s}{i}预算", ["{cost}万元", "≤{cost}万元"]),
        ("{s}{i}", ["{cost}万元", "≤{cost}万元"]),
        ("{i}发放金额", ["≤{cost}万元"]),
    ],
    "经济效益指标": [("带动群众增收", ["≥{k}万元", "明显"]), ("带动就业人数", ["≥{n}人"])],
    "社会效益指标": [
        ("保障政府体系稳定运行", ["良好", "稳定"]),
        ("提升{s}工作质量水平", ["稳定提升", "有效提高", "进一步提升"]),
        ("群众获得感", ["明显增强", "有效提高"]),
    ],
    "生态效益指标": [("改善人居环境", ["明显改善", "有效改善"]), ("节约资源能源", ["有效节约"])],
    "可持续影响指标": [
        ("保障{s}工作有效开展", ["持续保障", "长期"]),
        ("提高{s}积极性", ["持续提升", "长期"]),
    ],
    "服务对象满意度指标": [
        ("{s}满意度", ["≥90%", "≥95%", "≥85%", "≥80%"]),
        ("群众对{s}工作满意度", ["≥90%", "≥92%"]),
    ],
}
# 二级指标 that forms usually leave at `指标1: 无`.
OPTIONAL_LEVEL2 = ("经济效益指标", "生态效益指标")


def _amount(rng: random.Random, low: float, high: float) -> Decimal:
    places = rng.choice([0, 0, 1, 2, 2, 3])
    return round(Decimal(str(rng.uniform(low, high))), places)


def _fmt(amount: Decimal, unit: str, keep_zeros: bool) -> str:
    text = f"{amount:f}"
    if not keep_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + unit


def invent_sheet(rng: random.Random, *, long: bool = False) -> Sheet:
    """A plausible form drawn from the pools; `long` gives more lines, enough to overflow a page."""
    county = rng.choice(COUNTIES)
    year = str(rng.choice([2022, 2023, 2024, 2024, 2024, 2025]))
    if rng.random() < 0.5:
        department = county + rng.choice(TOWNSHIPS) + "办事处"
        unit = department if rng.random() < 0.8 else county + rng.choice(TOWNSHIPS) + "办事处"
    else:
        department = county + rng.choice(BUREAUS)
        unit = department + rng.choice(UNIT_SUFFIXES)
    if rng.random() < 0.3:
        department += (
            rng.choice([" ", "", "（"])
            + str(rng.randint(100, 999))
            + str(rng.randint(1, 9)).zfill(3)
        )
        if "（" in department:
            department += "）"
    subject = rng.choice(SUBJECTS)
    item = rng.choice(ITEMS)
    name = rng.choice(
        [
            f"{year}年{subject}{item}",
            f"{subject}{item}",
            f"{year}年{rng.choice(FUND_SOURCES)}{subject}{item}",
            f"{subject}{item}（{rng.choice(['含', '不含'])}{rng.choice(SUBJECTS)}）",
            f"{year}年{county}{subject}{item}",
        ]
    )

    total = _amount(rng, 0.5, 900)
    other = Decimal(0)
    if rng.random() < 0.3:
        other = min(_amount(rng, 0.1, float(total)), total)
    fiscal = total - other
    unit_text = rng.choice(["", "万元"])
    keep_zeros = rng.random() < 0.3
    other_text = _fmt(other, unit_text, keep_zeros) if other else rng.choice(["", "", "", "0"])

    goal = ""
    if rng.random() < 0.9:
        use = rng.choice(GOAL_USES).format(s=subject, i=item, n=rng.randint(3, 30))
        aim = rng.choice(GOAL_AIMS).format(s=subject)
        sep = rng.choice(["，", ",", ", "])
        goal = f"本项目主要用于{use}{sep}主要目标是{aim}。"
        if rng.random() < 0.3:
            goal = goal + rng.choice(GOAL_AIMS).format(s=subject) + "。"
        goal = goal[: rng.randint(20, 80)] if len(goal) > 80 else goal

    notes = rng.choice([NOTES_QUANTIFIED, NOTES_PLAIN])
    blocks = tuple(
        _invent_block(rng, level2, notes[level2], subject, item, year, total, long)
        for level2 in LEVEL2_ORDER
    )
    return Sheet(
        year=year,
        project_name=name,
        department=department,
        implementing_unit=unit,
        project_attribute=rng.choice(ATTRIBUTES),
        project_period=rng.choice(
            ["1年"] * 5 + ["2年", "3年", f"{year}年", f"{year}-{int(year) + 2}年"]
        ),
        funds_total=_fmt(total, unit_text, keep_zeros),
        funds_fiscal=_fmt(fiscal, unit_text, keep_zeros),
        funds_other=other_text,
        overall_goal=goal,
        blocks=blocks,
        goal_label=rng.choice(["年度总体目标"] * 4 + ["年度总体"]),
    )


def _invent_block(
    rng: random.Random,
    level2: str,
    note: str,
    subject: str,
    item: str,
    year: str,
    total: Decimal,
    long: bool,
) -> Block:
    filled = 1
    if rng.random() < (0.45 if long else 0.2):
        filled = 2
        if rng.random() < (0.5 if long else 0.15):
            filled = 3
    lines: list[IndicatorLine] = []
    templates = rng.sample(NAME_TEMPLATES[level2], k=min(filled, len(NAME_TEMPLATES[level2])))
    for seq, (template, values) in enumerate(templates, start=1):
        if level2 in OPTIONAL_LEVEL2 and seq == 1 and rng.random() < 0.75:
            lines.append(IndicatorLine(1, "无", ""))
            break
        cost = _amount(rng, float(total) * 0.3, float(total)) if level2 == "成本指标" else 0
        fill = dict(
            s=subject,
            i=item,
            y=year,
            n=rng.randint(2, 400),
            k=rng.randint(1, 30),
            m=rng.choice([120, 220, 300, 600, 840, 1200, 2400]),
            w=rng.choice(["7.52", "3.6", "4.8"]),
            mo=rng.randint(1, 6),
            mo2=rng.randint(7, 12),
            cost=_fmt(Decimal(cost), "", False),
        )
        name = template.format(**fill)
        value = "" if rng.random() < 0.04 else rng.choice(values).format(**fill)
        lines.append(IndicatorLine(seq, name, value))
    # The printed form always shows at least an empty 指标2 line under the last filled one.
    lines.append(IndicatorLine(len(lines) + 1, "", ""))
    filler = rng.choice([0, 1, 1]) if not long else rng.choice([1, 2])
    return Block(level2, note, tuple(lines), filler=filler, dots=rng.random() < 0.15)
