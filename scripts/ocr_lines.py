"""Rendered text lines and pages for the OCR engine tests and benchmark.

Lines are drawn with PIL in the CJK faces of Debian's font packages, at the size body text has
on a 200 dpi scan (an 11 pt line is about 30 px).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts")
FACES: dict[str, tuple[str, int]] = {
    "uming": ("truetype/arphic/uming.ttc", 0),
    "noto_sans": ("opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: the SC face
    "noto_serif": ("opentype/noto/NotoSerifCJK-Regular.ttc", 2),
}
LINE_PX = 30
PAD_PX = 8
# A4 at 200 dpi.
A4_200DPI = (1654, 2339)

# Text from the budget form: a value, a percentage, an amount, a unit, a project name.
FORM_LINES = (
    "指标1: 社区工作者责任险参保人数",
    "≥90%",
    "1.254万元",
    "原州区古雁街道办事处",
    "2024年中央困难群众救助补助资金（临时救助）",
)

# More lines of the same kind, for the benchmark.
MORE_LINES = (
    "部门项目支出预算绩效批复表",
    "（ 2024 年度）",
    "项目名称",
    "主管部门及代码",
    "固原市原州区民政局 501001",
    "实施单位",
    "项目资金（万元）",
    "年度资金总额：",
    "其中：财政拨款",
    "其他资金",
    "年度总体目标",
    "保障困难群众基本生活，及时足额发放救助资金",
    "一级指标",
    "二级指标",
    "三级指标",
    "数量指标",
    "质量指标",
    "时效指标",
    "成本指标",
    "社会效益指标",
    "服务对象满意度指标",
    "救助人次 ≥1200人次",
    "资金发放准确率 100%",
    "资金拨付及时率 ≥95%",
    "群众满意度 ≥90%",
    "人均救助标准 860元/人",
    "0.36",
    "2024年12月31日前",
    "按时完成",
    "有效改善",
    "绩效目标完成情况",
    "开展困难群众走访排查 4次",
    "临时救助对象覆盖率 100%",
    "备注：金额单位为万元",
    "原州区财政局（盖章）",
)

FontFace = tuple[str, int]
Array = npt.NDArray[np.uint8]


def font(face: str, size_px: int = LINE_PX) -> ImageFont.FreeTypeFont:
    """A face from ``FACES`` at ``size_px``."""
    path, index = FACES[face]
    return ImageFont.truetype(str(FONT_DIR / path), size_px, index=index)


def render_line(text: str, face: str = "uming", size_px: int = LINE_PX, pad: int = PAD_PX) -> Array:
    """One line of black text on white, cropped to its ink with ``pad`` pixels round it (RGB)."""
    f = font(face, size_px)
    left, top, right, bottom = (int(v) for v in f.getbbox(text))
    image = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), "white")
    ImageDraw.Draw(image).text((pad - left, pad - top), text, font=f, fill="black")
    return np.asarray(image).copy()


@dataclass(frozen=True)
class Placed:
    """A line drawn on a page: its text and the box of its ink ``(x0, y0, x1, y1)``."""

    text: str
    box: tuple[int, int, int, int]


def render_page(
    lines: list[tuple[str, tuple[int, int]]],
    size: tuple[int, int] = A4_200DPI,
    face: str = "noto_sans",
    size_px: int = LINE_PX,
) -> tuple[Array, list[Placed]]:
    """A white page with each text drawn at its ``(x, y)`` (top-left of the ink).

    Returns:
        The RGB page and where each line's ink landed.

    """
    f = font(face, size_px)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    placed = []
    for text, (x, y) in lines:
        left, top, _, _ = f.getbbox(text)
        draw.text((x - left, y - top), text, font=f, fill="black")
        placed.append(Placed(text, _ink_box(text, f, x, y)))
    return np.asarray(image).copy(), placed


def _ink_box(text: str, f: ImageFont.FreeTypeFont, x: int, y: int) -> tuple[int, int, int, int]:
    """Where ``text`` drawn with its top-left at ``(x, y)`` puts ink.

    The font's bbox runs to the last glyph's advance, past the ink of a closing "）".
    """
    left, top, right, bottom = (int(v) for v in f.getbbox(text))
    mask = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=f, fill=255)
    x0, y0, x1, y1 = mask.getbbox() or (0, 0, 0, 0)
    return x + x0, y + y0, x + x1, y + y1


def bench_crops() -> list[Array]:
    """About 60 line crops: every form line in three faces, then the rest to make 60."""
    texts = list(FORM_LINES) + list(MORE_LINES)
    faces = list(FACES)
    return [render_line(t, faces[i % len(faces)]) for i, t in enumerate(texts * 2)][:60]


def bench_page() -> tuple[Array, list[Placed]]:
    """An A4 200 dpi page of 40 lines in two columns' worth of positions."""
    texts = (list(FORM_LINES) + list(MORE_LINES))[:40]
    lines = [(t, (120 + 760 * (i % 2), 150 + 100 * (i // 2))) for i, t in enumerate(texts)]
    return render_page(lines)
