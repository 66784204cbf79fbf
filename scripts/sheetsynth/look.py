"""How one clerk set up the spreadsheet: faces, column widths, borders, margins, alignment.

Drawn at random once per document (one clerk, one workbook), so that forms of one file share
their look and forms of different files differ.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

# Installed CJK faces (fonts-noto-cjk, fonts-arphic-*, fonts-wqy-*), the names an office PC's
# 宋体 / 黑体 / 楷体 become when the file is printed here.
BODY_FACES = (
    "Noto Serif CJK SC",
    "Noto Serif CJK SC",
    "Noto Sans CJK SC",
    "AR PL UMing CN",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
)
TITLE_FACES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "AR PL UKai CN")
INNER_BORDERS = ("thin", "thin", "thin", "hair", "dotted", "dashed")
OUTER_BORDERS = ("thin", "medium", "medium", "thick", "dotted", "double")
A4_PT = (595.3, 841.9)


@dataclass(frozen=True)
class Look:
    """The print settings and habits of one workbook."""

    body_face: str
    title_face: str
    body_pt: float
    title_pt: float
    title_bold: bool
    label_bold: bool
    widths: tuple[float, ...]  # columns A..F in Excel width units
    margins_in: tuple[float, float, float, float]  # left, right, top, bottom
    centered: bool  # print centred horizontally on the page
    inner: str  # openpyxl border style of the ruling inside the table
    outer: str  # ... and of its frame
    open_side: str  # "", "left" or "right": the frame line the clerk never drew
    label_span: bool  # labels such as 项目名称 take columns A and B
    value_h: str  # horizontal alignment of text values: "left" or "center"
    value_v: str  # vertical alignment of every cell: "center" or "top"
    amount_h: str  # horizontal alignment of amounts: "left", "center" or "right"
    line_h: str  # alignment of the 指标N lines: "left" or "center"
    seq_colon: str  # after 指标N
    funds_colon: str  # after 年度资金总额
    funds_label: str  # the label of the funds block
    note_break: bool  # the 二级指标 note on its own line
    year_line: str  # with {year}
    row_pt: float  # height of an indicator row
    top_row_pt: float  # least height of a row above the indicator table
    gap_after_year: bool  # an empty row between the year line and the table
    repeat_header: bool  # the column heads again on a continuation page
    footer: str  # page footer ("" for none)

    @classmethod
    def draw(cls, rng: random.Random, *, open_frame: float, tall_rows: bool) -> Look:
        """A plausible look; `open_frame` is the chance of a frame side left undrawn."""
        body_pt = rng.choice([9, 10, 10, 10.5, 11, 11, 12])
        widths = (
            rng.uniform(8, 12),  # A: 项目名称, 绩效指标
            rng.uniform(7, 10),  # B: 一级指标
            rng.uniform(9, 13),  # C: 二级指标
            rng.uniform(22, 32),  # D: 三级指标
            rng.uniform(8, 11),  # E: 三级指标 (cont.), 实施单位
            rng.uniform(11, 16),  # F: 指标值
        )
        row = rng.uniform(1.35, 1.75) * body_pt
        if tall_rows:
            row = rng.uniform(2.9, 3.6) * body_pt
        return cls(
            body_face=rng.choice(BODY_FACES),
            title_face=rng.choice(TITLE_FACES),
            body_pt=body_pt,
            title_pt=rng.choice([16, 18, 18, 20, 22]),
            title_bold=rng.random() < 0.8,
            label_bold=rng.random() < 0.2,
            widths=tuple(round(w, 2) for w in widths),
            margins_in=(
                rng.uniform(0.5, 1.0),
                rng.uniform(0.4, 0.9),
                rng.uniform(0.6, 1.1),
                rng.uniform(0.6, 1.0),
            ),
            centered=rng.random() < 0.6,
            inner=rng.choice(INNER_BORDERS),
            outer=rng.choice(OUTER_BORDERS),
            open_side=rng.choice(["left", "right"]) if rng.random() < open_frame else "",
            label_span=rng.random() < 0.5,
            value_h=rng.choice(["left", "left", "center"]),
            value_v=rng.choice(["center", "center", "top"]),
            amount_h=rng.choice(["left", "center", "center", "right"]),
            line_h=rng.choice(["left", "left", "left", "center"]),
            seq_colon=rng.choice([":", ":", "：", ": "]),
            funds_colon=rng.choice(["：", ":", ""]),
            funds_label=rng.choice(["项目资金\n（万元）", "项目资金（万元）", "项目资金\n(万元)"]),
            note_break=rng.random() < 0.6,
            year_line=rng.choice(["（ {year} 年度）"] * 4 + ["（{year}年度）"]),
            row_pt=round(row, 1),
            top_row_pt=round(rng.uniform(1.8, 2.4) * body_pt, 1),
            gap_after_year=rng.random() < 0.3,
            repeat_header=rng.random() < 0.5,
            footer=rng.choice(["", "", "", "第 &P 页", "第 &P 页，共 &N 页"]),
        )

    @property
    def page_width_pt(self) -> float:
        """Printable width of the A4 page between the margins."""
        return A4_PT[0] - 72 * (self.margins_in[0] + self.margins_in[1])

    @property
    def page_height_pt(self) -> float:
        """Printable height of the A4 page between the margins."""
        return A4_PT[1] - 72 * (self.margins_in[2] + self.margins_in[3])

    def summary(self) -> dict[str, object]:
        """The look as plain data, for the corpus manifest."""
        return asdict(self)
