"""Each indicator row's 二级 block, where the form prints its blocks in order (`block_order`)."""

from __future__ import annotations

from pipeline.block_order import OrderCosts, decode_blocks, row_cues
from pipeline.form_spec import Template
from pipeline.readings import FormReading

ORDER_COSTS = OrderCosts()


def place_blocks(template: Template, form: FormReading, costs: OrderCosts = ORDER_COSTS) -> None:
    """Give each indicator row the 二级 block the order of the rows and its cell agree on.

    A row whose block changes keeps what its cell read in `raw`, is marked `placed_by_order`,
    and takes the new block's 一级; the form's issues say which rows moved.
    """
    spec = template.indicators
    if not spec.blocks_in_order or not form.indicators:
        return
    words = template.level2_names
    level1_key, level2_key = spec.key_of("level1") or "", spec.key_of("level2") or ""
    name_key = spec.key_of("name") or ""
    rows = [(row[level2_key], row["seq"].value) for row in form.indicators]
    blocks = decode_blocks(row_cues(rows, words, spec.note_pattern), len(words), costs)
    for row, block in zip(form.indicators, blocks, strict=True):
        level2, level1 = row[level2_key], row[level1_key]
        if level2.value == words[block]:
            continue
        form.issues.append(
            f"page {level2.page}: {spec.line_label}{row['seq'].value} {row[name_key].value!r} "
            f"placed in {words[block]} by the order of the rows (its cell read "
            f"{level2.value or 'nothing'!r})"
        )
        level2.value = words[block]
        level2.evidence.placed_by_order = True
        owner = template.level1_of[words[block]]
        if level1.value != owner:
            level1.value = owner
            level1.evidence.placed_by_order = True
