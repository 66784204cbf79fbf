"""A file's pages grouped into forms: a form starts at a page that shows its first-page signs."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.form_spec import Template
from pipeline.mapping.blocks import place_blocks
from pipeline.mapping.indicators import IndicatorState, map_indicators, number_rows_in_order
from pipeline.mapping.page_types import page_types
from pipeline.mapping.scalars import map_block_fields_on_later_pages, map_scalar_fields
from pipeline.pages import PageRead
from pipeline.readings import Evidence, FieldReading, FormReading


def read_forms(
    templates: Sequence[Template], file: str, pages: Sequence[PageRead]
) -> tuple[list[FormReading], dict[int, str]]:
    """Group a file's pages into forms, each of its page's type, and map each form's fields.

    Returns the forms, and the pages of no known type with why: read as no form.
    """
    forms: list[FormReading] = []
    unrecognised: dict[int, str] = {}
    pages_of: dict[int, list[PageRead]] = {}  # by id of the form
    columns_of: dict[int, dict[str, tuple[float, float]] | None] = {}  # its table's, last seen
    state = IndicatorState()
    for page, typed in zip(pages, page_types(templates, pages), strict=True):
        template = typed.template
        if template is None:
            unrecognised[page.number] = typed.why
            continue
        if typed.first or not forms or forms[-1].form_type != template.form_type:
            forms.append(FormReading(file=file, form_type=template.form_type))
            state = IndicatorState()
            if typed.first:
                map_scalar_fields(template, page, forms[-1])
            else:
                # Its first page was not recognised: every field is still reported, empty and
                # unfound, so that it goes to review rather than vanish from the record.
                forms[-1].issues.append(f"page {page.number}: no first page before it")
                forms[-1].fields = {
                    key: FieldReading(value="", raw="", evidence=Evidence(found=False))
                    for key in template.scalar_keys
                }
        form = forms[-1]
        form.pages.append(page.number)
        pages_of.setdefault(id(form), []).append(page)
        if page.grid is not None and page.grid.open_sides:
            form.issues.append(
                f"page {page.number}: table printed without its "
                f"{' and '.join(page.grid.open_sides)} frame line, taken where the lines end"
            )
        map_indicators(template, page, form, state)
        columns_of[id(form)] = state.columns
    by_type = {t.form_type: t for t in templates}
    for form in forms:
        template = by_type[form.form_type]
        map_block_fields_on_later_pages(
            template, pages_of[id(form)], form, columns_of.get(id(form))
        )
        place_blocks(template, form)
        number_rows_in_order(template, form)
        _doubt_overruled_pages(template, pages, [form])
    return forms, unrecognised


def _doubt_overruled_pages(
    template: Template, pages: Sequence[PageRead], forms: list[FormReading]
) -> None:
    """Mark every field read on a page whose grid has more columns than the form prints.

    A seal's ring, a pen's stroke or a fold taken for rulings cut the page's cells where the
    form has none: a value split there loses its end (`2024年` for a project name) or takes
    its neighbour's, and each piece reads sure of itself.
    """
    if template.most_columns is None:
        return
    doubtful = {
        page.number
        for page in pages
        if page.grid is not None and len(page.grid.xs) > template.most_columns
    }
    for form in forms:
        for number in sorted(doubtful.intersection(form.pages)):
            form.issues.append(
                f"page {number}: more column lines than the form prints: every field on it "
                "to review"
            )
        for _, reading in form.all_fields():
            if reading.page in doubtful:
                reading.evidence.grid_doubtful = True
