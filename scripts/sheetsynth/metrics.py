"""How much room text takes in a spreadsheet cell, measured with the face LibreOffice prints.

LibreOffice keeps a row at the height the file gives it and clips what does not fit, also in
merged wrapped cells, so the workbook sizes every row itself from these measures.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache

from PIL import ImageFont

# LibreOffice prints a column `width` (Excel's character units) this many points wide at 100 %,
# with openpyxl's default font, Calibri, which it replaces by DejaVu Sans (measured on 7.4:
# 10 units -> 70 pt; the unit is the width of that font's digits).
POINTS_PER_WIDTH_UNIT = 7.0
# What the cell keeps white on each side of wrapped text, and a margin for LibreOffice breaking
# a line a little earlier than our measure.
CELL_PAD_PT = 2.5
WRAP_SLACK = 0.96
MEASURE_SIZE = 100  # measure at a large size and scale, for sub-point precision

# Line breaking as LibreOffice does it for Chinese: between any two characters, except inside
# a run of digits and Latin letters, before closing punctuation, or after an opening bracket.
UNBROKEN_RUN = re.compile(r"[0-9A-Za-z.%\-]+|.", re.DOTALL)
NO_BREAK_BEFORE = frozenset("）)，,。、：:；;%！？!?》」”’")
NO_BREAK_AFTER = frozenset("（(《「“‘")


@cache
def font_file(family: str, bold: bool = False) -> tuple[str, int]:
    """The file and face index fontconfig gives for `family`, as LibreOffice resolves it."""
    pattern = f"{family}:bold" if bold else family
    out = subprocess.run(
        ["fc-match", "-f", "%{family[0]}|%{file}|%{index}", pattern],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found, path, index = out.split("|")
    if found.lower() != family.lower():
        raise RuntimeError(
            f"font {family!r} is not installed (fontconfig gives {found!r}); "
            "run scripts/setup.sh to install the CJK faces"
        )
    return path, int(index)


@cache
def _font(family: str, bold: bool) -> ImageFont.FreeTypeFont:
    path, index = font_file(family, bold)
    return ImageFont.truetype(path, MEASURE_SIZE, index=index)


def text_width_pt(text: str, family: str, size_pt: float, bold: bool = False) -> float:
    """Printed width of one line of `text` at `size_pt`."""
    return _font(family, bold).getlength(text) * size_pt / MEASURE_SIZE


def line_height_pt(family: str, size_pt: float) -> float:
    """Line pitch LibreOffice uses for the face: its ascent plus descent, at least 1.2 em."""
    ascent, descent = _font(family, False).getmetrics()
    return max((ascent + descent) / MEASURE_SIZE, 1.2) * size_pt


def wrap_lines(text: str, width_pt: float, family: str, size_pt: float, bold: bool = False) -> int:
    """How many lines `text` takes in a wrapped cell `width_pt` wide (explicit breaks kept)."""
    room = (width_pt - 2 * CELL_PAD_PT) * WRAP_SLACK
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        current = ""
        for piece in _unbreakable(paragraph):
            if current and text_width_pt(current + piece, family, size_pt, bold) > room:
                count += 1
                current = ""
            # A piece wider than the cell is broken anywhere, a character at a time.
            for char in piece:
                if current and text_width_pt(current + char, family, size_pt, bold) > room:
                    count += 1
                    current = ""
                current += char
    return count


def _unbreakable(paragraph: str) -> list[str]:
    """The paragraph cut where a line may break."""
    pieces: list[str] = []
    glue = False  # the last piece ended with an opening bracket
    for token in UNBROKEN_RUN.findall(paragraph):
        if pieces and (glue or token[0] in NO_BREAK_BEFORE):
            pieces[-1] += token
        else:
            pieces.append(token)
        glue = token[-1] in NO_BREAK_AFTER
    return pieces


def height_needed_pt(
    text: str, width_pt: float, family: str, size_pt: float, bold: bool = False
) -> float:
    """Row height a wrapped cell needs to show all of `text`, with white above and below."""
    lines = wrap_lines(text, width_pt, family, size_pt, bold)
    return lines * line_height_pt(family, size_pt) + 2 * CELL_PAD_PT + 1.0
