"""The indicator table's columns, from its header row: where each lies across the table.

The headers differ by a character (一级指标, 三级指标) and wear: a worn line between two
headers joins them, and a header read as nothing is the space between its neighbours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import pairwise

from pipeline.mapping.anchors import MIN_ANCHOR_SCORE, anchor_score, clean
from pipeline.ocr.cells import CellText


def split_joined_headers(
    cells: Sequence[CellText], columns: Mapping[str, str], xs: Sequence[int]
) -> list[CellText]:
    """`cells`, with a header cell joined with the next one taken as two.

    A worn line between two headers gives one cell reading both (`三级指标指标值`); it is
    parted at the column line nearest where their texts meet.
    """
    labels = list(columns.values())
    pairs = {clean(a + b): (a, b) for a, b in pairwise(labels)}
    out = []
    for cell in cells:
        pair = pairs.get(clean(cell.text))
        x0, y0, x1, y1 = cell.cell.box
        inside = [x for x in xs if x0 < x < x1]
        if pair is None or not inside:
            out.append(cell)
            continue
        left, right = pair
        meet = x0 + (x1 - x0) * len(left) / (len(left) + len(right))
        cut = min(inside, key=lambda x: abs(x - meet))
        for text, box in ((left, (x0, y0, cut, y1)), (right, (cut, y0, x1, y1))):
            out.append(replace(cell, text=text, cell=replace(cell.cell, box=box)))
    return out


def column_headers(
    cells: Sequence[CellText], columns: Mapping[str, str], row_key: str = ""
) -> dict[str, CellText]:
    """The header cell of each indicator column, one cell per column, in the columns' order.

    The headers differ by a character (一级指标, 三级指标): a worn header can read closer to its
    neighbour's label than to its own. The surest matches are taken first, and a header out
    of the left-to-right order of `columns` is dropped. Where the header of `row_key` is
    found, the others are taken from its row only: a form can print 分值 or 得分 over another
    block too.
    """
    if row_key in columns:
        own = max(cells, key=lambda c: anchor_score(c.text, columns[row_key]), default=None)
        if own is not None and anchor_score(own.text, columns[row_key]) >= MIN_ANCHOR_SCORE:
            top, bottom = own.cell.box[1], own.cell.box[3]
            cells = [c for c in cells if c.cell.box[1] < bottom and c.cell.box[3] > top]
    scored = sorted(
        (
            (anchor_score(cell.text, anchor), index, key, cell)
            for key, anchor in columns.items()
            for index, cell in enumerate(cells)
        ),
        key=lambda item: (-item[0], item[1]),
    )
    found: dict[str, CellText] = {}
    for score, _, key, cell in scored:
        if score < MIN_ANCHOR_SCORE:
            break
        if key not in found and all(c is not cell for c in found.values()):
            found[key] = cell
    ordered: dict[str, CellText] = {}
    for key in columns:
        header = found.get(key)
        if header is not None and all(
            c.cell.box[2] <= header.cell.box[0] + 2 for c in ordered.values()
        ):
            ordered[key] = header
    return ordered


def column_ranges(
    found: Mapping[str, CellText],
    keys: Sequence[str],
    x_left: int,
    width: int,
    xs: Sequence[int] = (),
) -> dict[str, tuple[float, float]]:
    """Each column's x range, as shares of the table's width.

    A column whose header was not read is the space between its neighbours; the first and
    last columns reach the table's edges. Several unread side by side (a stray line cut
    their wrapped headers) share that space by the grid's column lines `xs` in it, one
    column each, where the counts agree.
    """
    ranges = {
        k: ((c.cell.box[0] - x_left) / width, (c.cell.box[2] - x_left) / width)
        for k, c in found.items()
    }
    _share_out_unread(ranges, keys, [(x - x_left) / width for x in xs])
    for i, key in enumerate(keys):
        if key in ranges:
            continue
        left = 0.0 if i == 0 else ranges.get(keys[i - 1], (None, None))[1]
        right = 1.0 if i == len(keys) - 1 else ranges.get(keys[i + 1], (None, None))[0]
        if left is not None and right is not None and right > left:
            ranges[key] = (left, right)
    return ranges


def _share_out_unread(
    ranges: dict[str, tuple[float, float]], keys: Sequence[str], lines: Sequence[float]
) -> None:
    """Give a run of unread columns between two read ones the grid's columns between them."""
    i = 0
    while i < len(keys):
        if keys[i] in ranges:
            i += 1
            continue
        j = i
        while j < len(keys) and keys[j] not in ranges:
            j += 1
        if 0 < i and j < len(keys) and j - i > 1:
            left, right = ranges[keys[i - 1]][1], ranges[keys[j]][0]
            edges = [left, *(x for x in lines if left + 0.005 < x < right - 0.005), right]
            if len(edges) - 1 == j - i:
                for k, key in enumerate(keys[i:j]):
                    ranges[key] = (edges[k], edges[k + 1])
        i = j
