"""Field names as the form prints them (项目名称, 指标值 …), for reviewers who read the form.

The labels come from the form type's template: a field's first anchor, an indicator
column's header. The year (printed in the title line) and an indicator's line number
(指标1, 指标2 …) have no label of their own on the form, so they have messages of their
own, as the field kinds do; a key no template knows shows as itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from pipeline.form_spec import Template, known_form_types, load_template
from pipeline.review.i18n import N_

# Keys, and kinds of `pipeline.confidence.group_of`, that no form prints a label for.
_OWN_NAMES = {
    "year": N_("year"),
    "seq": N_("line number"),
    "text": N_("text"),
    "amount": N_("amount"),
    "number": N_("number"),
    "rate": N_("rate"),
}


def _template(form_type: str) -> Template | None:
    try:
        return load_template(form_type)
    except FileNotFoundError:  # a store read with a template this version lacks
        return None


@cache
def _printed(form_type: str) -> dict[str, str]:
    """Key → printed label; for "" (a group across form types), every template's, merged."""
    types = [form_type] if form_type else known_form_types()
    labels: dict[str, str] = {}
    for template in filter(None, map(_template, types)):
        labels.update({s.key: s.label for s in template.fields if s.key not in labels})
        headers = template.indicators.headers
        labels.update({k: v for k, v in headers.items() if k not in labels})
    return labels


def field_label(form_type: str, path: str, gettext: Callable[[str], str]) -> str:
    """The printed label of the field at `path` (`fields.KEY`, `indicators.ROW.KEY` or a key).

    Args:
        form_type: The form's template; "" for a key across form types.
        path: The field's place in its record, or its key alone.
        gettext: Translates the words around the label (the year, an indicator's row).

    """
    parts = path.split(".")
    key = parts[-1]
    own = gettext(_OWN_NAMES[key]) if key in _OWN_NAMES else key
    label = _printed(form_type).get(key) or own
    if parts[0] == "indicators" and len(parts) == 3 and parts[1].isdigit():
        return gettext("%(label)s, row %(row)d") % {"label": label, "row": int(parts[1]) + 1}
    return label


def kind_label(kind: str, gettext: Callable[[str], str]) -> str:
    """A field kind of the silent error estimate (`year`, `amount`, `indicators.value` …)."""
    if kind in _OWN_NAMES:
        return gettext(_OWN_NAMES[kind])
    return field_label("", kind.removeprefix("indicators."), gettext)


def form_title(form_type: str) -> str:
    """The title printed on forms of `form_type`, or the type's name where none is known."""
    template = _template(form_type)
    return template.title if template else form_type
