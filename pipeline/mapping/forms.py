"""A file's pages grouped into forms: a form starts at a page that shows its first-page signs."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.form_spec import Template
from pipeline.mapping.anchors import MIN_ANCHOR_SCORE, anchor_score, best_anchor
from pipeline.mapping.blocks import place_blocks
from pipeline.mapping.indicators import IndicatorState, map_indicators
from pipeline.mapping.scalars import map_scalar_fields
from pipeline.pages import PageRead
from pipeline.readings import Evidence, FieldReading, FormReading

# Field labels that make a page a form's first without its title or first anchor; a
# continuation page prints none.
FIRST_PAGE_LABELS = 2


def is_first_page(template: Template, page: PageRead) -> bool:
    """Whether the page starts a form: it shows its title, first-page anchor or field labels.

    Field labels count from `FIRST_PAGE_LABELS` of them.

    The title above the table is the surer sign: a worn grid can merge the anchor's cell
    with its neighbours, and a form whose first page is missed shifts every later form of
    its file onto the wrong record.
    """
    if any(anchor_score(line, template.title) >= MIN_ANCHOR_SCORE for line in page.above):
        return True
    if best_anchor(page.cells, [template.first_page_anchor])[0] is not None:
        return True
    # A seal pressed over the title and the first rows: the other field labels still say it.
    labelled = sum(best_anchor(page.cells, spec.anchors)[0] is not None for spec in template.fields)
    return labelled >= FIRST_PAGE_LABELS


def read_forms(template: Template, file: str, pages: Sequence[PageRead]) -> list[FormReading]:
    """Group a file's pages into forms and map each form's fields."""
    forms: list[FormReading] = []
    state = IndicatorState()
    for page in pages:
        first = is_first_page(template, page)
        if first or not forms:
            forms.append(FormReading(file=file, form_type=template.form_type))
            state = IndicatorState()
            if first:
                map_scalar_fields(template, page, forms[-1])
            else:
                # Its first page was not recognised: every field is still reported, empty and
                # unfound, so that it goes to review rather than vanish from the record.
                forms[-1].issues.append(f"page {page.number}: no first page before it")
                forms[-1].fields = {
                    key: FieldReading(value="", raw="", evidence=Evidence(found=False))
                    for key in ["year", *(spec.key for spec in template.fields)]
                }
        form = forms[-1]
        form.pages.append(page.number)
        if page.grid is not None and page.grid.open_sides:
            form.issues.append(
                f"page {page.number}: table printed without its "
                f"{' and '.join(page.grid.open_sides)} frame line, taken where the lines end"
            )
        map_indicators(template, page, form, state)
    for form in forms:
        place_blocks(template, form)
    _doubt_overruled_pages(template, pages, forms)
    return forms


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
