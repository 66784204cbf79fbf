"""Each indicator row's 二级 block, from the order of the rows as well as from its own cell.

A form prints its 二级 blocks in the vocabulary's order and numbers each block's lines from
指标1. On a worn page a 二级 cell comes to span rows of two blocks, or runs into its
neighbours, or is lost; the cell beside a row then names the wrong block, or none. The rows'
指标N numbers say where blocks start and the cells say which block is which: the sequence of
blocks that best fits both is found by dynamic programming over the rows (Viterbi).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from pipeline.readings import FieldReading

MIN_CELL_MATCH = 60.0  # rapidfuzz ratio (0–100) for a cell's text to name a block at all


@dataclass(frozen=True)
class OrderCosts:
    """What each departure from a plain form costs, against what a cell's reading is worth.

    A plain form starts every block with 指标1, continues it with 指标2, 指标3 …, and shows
    every block of the vocabulary.
    """

    cell: float = 3.0  # a row whose own cell names one block surely
    first_line_within: float = 4.0  # 指标1 inside a block already running
    block_from_later_line: float = 3.0  # a block whose 指标1 row was lost
    skipped_block: float = 2.5  # a block with no row at all (lost, or not printed)


@dataclass(frozen=True)
class RowCue:
    """What one row says about its block: its 指标N number and, per block, its cell's vote."""

    seq: int | None
    votes: tuple[float, ...]


def row_cues(
    rows: Sequence[tuple[FieldReading, str]], words: Sequence[str], note_pattern: str
) -> list[RowCue]:
    """Each row's cue from its 二级 reading and its 指标N number.

    A cell's vote is shared among the rows it spans and among the block names its text runs
    together, so that one merged cell counts once. A cell carried over from the rows above
    (blank, or not found) votes for nothing: the order alone places its row.
    """
    spans = Counter(_cell_key(level2) for level2, _ in rows)
    cues = []
    for level2, seq in rows:
        votes = [0.0] * len(words)
        text = re.sub(note_pattern.rstrip("$"), "", "".join(level2.raw.split()))
        if not level2.evidence.inherited and text:
            named = [k for k, word in enumerate(words) if word in text]
            # A name that is part of a longer one found there counts as the longer only.
            named = [k for k in named if not any(k != j and words[k] in words[j] for j in named)]
            if named:
                for k in named:
                    votes[k] = 1.0 / len(named)
            else:
                match = process.extractOne(text, list(words), scorer=fuzz.ratio)
                if match is not None and match[1] >= MIN_CELL_MATCH:
                    votes[match[2]] = match[1] / 100.0
            share = spans[_cell_key(level2)]
            votes = [v / share for v in votes]
        cues.append(RowCue(int(seq) if seq.isdigit() else None, tuple(votes)))
    return cues


def _cell_key(reading: FieldReading) -> tuple[object, ...]:
    if reading.evidence.inherited or reading.bbox is None:
        return (id(reading),)
    return (reading.page, *reading.bbox)


def decode_blocks(cues: Sequence[RowCue], blocks: int, costs: OrderCosts) -> list[int]:
    """The block of each row, as an index into the vocabulary's order: the cheapest path.

    Blocks never go backwards. Unvisited blocks at the start, in between and at the end each
    cost `skipped_block`.
    """
    if not cues or blocks == 0:
        return []
    inf = float("inf")
    # cost[k]: cheapest path over the rows so far that ends in block k; back[i][k] its step.
    cost = [k * costs.skipped_block - costs.cell * cues[0].votes[k] for k in range(blocks)]
    cost = [c + _start_cost(cues[0], costs) for c in cost]
    back: list[list[int]] = [list(range(blocks))]
    for cue in cues[1:]:
        new_cost, steps = [inf] * blocks, [0] * blocks
        for k in range(blocks):
            for j in range(k + 1):
                step = cost[j] + _step_cost(cue, k - j, costs)
                if step < new_cost[k]:
                    new_cost[k], steps[k] = step, j
            new_cost[k] -= costs.cell * cue.votes[k]
        cost, back = new_cost, [*back, steps]
    cost = [c + (blocks - 1 - k) * costs.skipped_block for k, c in enumerate(cost)]
    path = [min(range(blocks), key=lambda k: cost[k])]
    for steps in reversed(back[1:]):
        path.append(steps[path[-1]])
    return path[::-1]


def _start_cost(cue: RowCue, costs: OrderCosts) -> float:
    return costs.block_from_later_line if cue.seq is not None and cue.seq > 1 else 0.0


def _step_cost(cue: RowCue, ahead: int, costs: OrderCosts) -> float:
    """Cost of a row `ahead` blocks after the row above (0: the same block)."""
    if ahead == 0:
        return costs.first_line_within if cue.seq == 1 else 0.0
    later = costs.block_from_later_line if cue.seq is not None and cue.seq > 1 else 0.0
    return later + (ahead - 1) * costs.skipped_block
