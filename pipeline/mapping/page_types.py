"""Which form type each page of a file shows: by its title, its own labels, or the form before.

An archive's file can hold an approval form and then the self-evaluation of the same project,
or a cover letter. Each page is typed before anything is read from it: a page read as the
wrong type gives a record of sure, wrong fields, so a page that shows no type's signs is
listed for a person and read as none.

The signs, surest first:
- its title above the table, the type whose title reads closest;
- the labels only one type prints (主管部门及代码 and 指标N on the approval form; 年初预算数,
  执行率 and 偏差原因分析及改进措施 on the self-evaluation), the type with most of them;
- a page that shows neither continues the form before it, where it shows that form's table
  (its column headers or indicator names); a file's first page never does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.form_spec import Template
from pipeline.mapping.anchors import MIN_ANCHOR_SCORE, anchor_score, best_anchor, clean
from pipeline.pages import PageRead


@dataclass(frozen=True)
class PageType:
    """A page's form type (None: no known type), whether it starts a form, and why."""

    template: Template | None
    first: bool
    why: str


def page_types(templates: Sequence[Template], pages: Sequence[PageRead]) -> list[PageType]:
    """Type each page of one file, in order.

    With one template (the run forces its type) every page is of it, as a continued page
    where it starts no form.
    """
    out: list[PageType] = []
    own = {
        t.form_type: _own_labels(t, tuple(o for o in templates if o is not t)) for t in templates
    }
    for page in pages:
        if len(templates) == 1:
            template = templates[0]
            out.append(PageType(template, is_first_page(template, page), "the run's form type"))
            continue
        typed = _by_title(templates, page) or _by_own_labels(templates, own, page)
        if typed is not None:
            template, why = typed
            out.append(PageType(template, is_first_page(template, page), why))
            continue
        before = out[-1].template if out else None
        if before is not None and _shows_table(before, page):
            out.append(PageType(before, False, f"continues the {before.title} before it"))
        else:
            out.append(PageType(None, False, "neither the title nor the labels of a known form"))
    return out


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
    if _title_score(template, page) >= MIN_ANCHOR_SCORE:
        return True
    if best_anchor(page.cells, [template.first_page_anchor])[0] is not None:
        return True
    # A seal pressed over the title and the first rows: the other field labels still say it.
    labelled = sum(
        best_anchor(page.cells, spec.labels)[0] is not None
        for spec in template.fields
        if spec.anchors
    )
    return labelled >= FIRST_PAGE_LABELS


def _title_score(template: Template, page: PageRead) -> float:
    return max(
        (anchor_score(line, title) for line in page.above for title in template.titles),
        default=0.0,
    )


def _by_title(templates: Sequence[Template], page: PageRead) -> tuple[Template, str] | None:
    """The type whose title the page prints, where one reads closer than every other's."""
    scores = sorted(((_title_score(t, page), t) for t in templates), key=lambda s: -s[0])
    (best, template), (second, _) = scores[0], scores[1]
    if best >= MIN_ANCHOR_SCORE and best > second:
        return template, f"titled {template.title}"
    return None


def _by_own_labels(
    templates: Sequence[Template], own: Mapping[str, Sequence[str]], page: PageRead
) -> tuple[Template, str] | None:
    """The type with most of its `own` labels on the page, where it has more than every other."""
    counts = []
    for template in templates:
        labels = own[template.form_type]
        found = [label for label in labels if best_anchor(page.cells, [label])[0] is not None]
        if template.indicators.line_label and _line_labels(template, page):
            found.append(f"{template.indicators.line_label}N")
        counts.append((len(found), found, template))
    counts.sort(key=lambda c: -c[0])
    (best, found, template), (second, _, _) = counts[0], counts[1]
    if best >= 1 and best > second:
        return template, f"shows {', '.join(found)}"
    return None


def _own_labels(template: Template, others: tuple[Template, ...]) -> tuple[str, ...]:
    """The labels `template` prints that no other type prints, or anything that reads like one."""
    theirs = {
        label
        for other in others
        for label in (*other.labels, other.first_page_anchor, *_end_rows(other))
    }
    mine = dict.fromkeys((*template.labels, template.first_page_anchor, *_end_rows(template)))
    return tuple(
        label
        for label in mine
        if all(
            max(anchor_score(label, other), anchor_score(other, label)) < MIN_ANCHOR_SCORE
            for other in theirs
        )
    )


def _end_rows(template: Template) -> list[str]:
    return [template.indicators.end_row] if template.indicators.end_row else []


def _line_labels(template: Template, page: PageRead) -> bool:
    """Whether two or more cells start with the type's numbered line label (`指标1:`)."""
    label = template.indicators.line_label
    if not label:
        return False
    starts = re.compile(rf"^{re.escape(label)}\d{{1,2}}")
    return sum(bool(starts.match(clean(c.text))) for c in page.cells) >= 2


def _shows_table(template: Template, page: PageRead) -> bool:
    """Whether a page shows the type's indicator table: its headers or its vocabulary."""
    if page.grid is None:
        return False
    words = [
        *template.indicators.headers.values(),
        *template.indicators.vocabulary,
        *template.level2_names,
    ]
    return _line_labels(template, page) or best_anchor(page.cells, words)[0] is not None
