"""Charts as inline SVG: columns over time, bars by name, boxes of a spread.

For pages that must stand alone: no script, no font or file from elsewhere, so a chart
reads the same from a mail attachment, a file:// link or behind a strict CSP. Every chart
has its title, axis labels and the numbers on it; text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 960  # px: fits a 1366-pixel-wide screen beside the page's margins
_FONT = "font-family:sans-serif;font-size:13px"
_TITLE = "font-family:sans-serif;font-size:16px;font-weight:bold"
_BAR = "#4a7ab5"
_TOP = 34  # room for the title
_ROW = 22  # one bar or box


@dataclass(frozen=True)
class Bar:
    """One bar: its name, its length, and the number written at its end."""

    label: str
    value: float
    note: str


@dataclass(frozen=True)
class Box:
    """A spread: whiskers at `low` and `high`, the box from `q1` to `q3`, the median."""

    label: str
    low: float
    q1: float
    median: float
    q3: float
    high: float
    note: str


def ticks(top: float, most: int = 6) -> list[float]:
    """Round steps from 0 to at least `top`, at most `most` + 1 of them."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1, 2, 2.5, 5, 10) if s * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1 or value == 0 else f"{value:.2g}"


def _svg(chart_id: str, title: str, height: int, body: list[str]) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'style="{_FONT}"><title>{escape(title)}</title>'
        f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" style="{_TITLE}">{escape(title)}'
        "</text>" + "".join(body) + "</svg>"
    )


def columns(
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    spans: Sequence[tuple[float, float, float]],
) -> str:
    """Columns over a continuous x axis: (start, end, height) each, e.g. a rate over time."""
    left, right, bottom, height = 70, 20, 50, 320
    plot_w, plot_h = WIDTH - left - right, height - _TOP - bottom
    x_top = max((end for _, end, _ in spans), default=1.0) or 1.0
    # Headroom over the tallest column for the number written on it.
    y_ticks = ticks(1.12 * max((v for _, _, v in spans), default=0.0))
    x_ticks = ticks(x_top, most=10)
    x_max, y_max = max(x_ticks[-1], x_top), y_ticks[-1]

    def x(v: float) -> float:
        return left + plot_w * v / x_max

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / y_max)

    body = [_axes(left, _TOP, plot_w, plot_h)]
    for t in y_ticks:
        body.append(_line(left - 4, y(t), left + plot_w, y(t), "#e4e4e4"))
        body.append(_text(left - 8, y(t) + 4, _number(t), "end"))
    for t in x_ticks:
        body.append(_text(x(t), _TOP + plot_h + 18, _number(t), "middle"))
    for start, end, value in spans:
        w = max(x(end) - x(start) - 1, 1)
        body.append(
            f'<rect class="bar" x="{x(start):.1f}" y="{y(value):.1f}" width="{w:.1f}" '
            f'height="{_TOP + plot_h - y(value):.1f}" fill="{_BAR}">'
            f"<title>{escape(f'{_number(start)}–{_number(end)}: {value:.1f}')}</title></rect>"
        )
        if len(spans) <= 30:  # a number on every column while they are wide enough to hold one
            body.append(_text((x(start) + x(end)) / 2, y(value) - 4, f"{value:.0f}", "middle"))
    body.append(_text(left + plot_w / 2, height - 10, x_label, "middle"))
    body.append(_rotated(16, _TOP + plot_h / 2, y_label))
    return _svg(chart_id, title, height, body)


def bars(chart_id: str, title: str, x_label: str, rows: Sequence[Bar]) -> str:
    """Horizontal bars, one a row, named on the left, each number at its end."""
    left, right, bottom = 230, 130, 46
    plot_w, plot_h = WIDTH - left - right, _ROW * max(len(rows), 1)
    height = _TOP + plot_h + bottom
    x_ticks = ticks(max((r.value for r in rows), default=0.0))
    x_max = x_ticks[-1]
    body = [_axes(left, _TOP, plot_w, plot_h)]
    for t in x_ticks:
        tx = left + plot_w * t / x_max
        body.append(_line(tx, _TOP, tx, _TOP + plot_h + 4, "#e4e4e4"))
        body.append(_text(tx, _TOP + plot_h + 18, _number(t), "middle"))
    for i, row in enumerate(rows):
        top = _TOP + i * _ROW
        w = plot_w * row.value / x_max
        body.append(_text(left - 8, top + 15, row.label, "end"))
        body.append(
            f'<rect class="bar" x="{left}" y="{top + 3}" width="{w:.1f}" height="{_ROW - 6}" '
            f'fill="{_BAR}"><title>{escape(f"{row.label}: {row.note}")}</title></rect>'
        )
        body.append(_text(left + w + 6, top + 15, row.note, "start"))
    body.append(_text(left + plot_w / 2, height - 8, x_label, "middle"))
    return _svg(chart_id, title, height, body)


def boxes(
    chart_id: str, title: str, x_label: str, rows: Sequence[Box], x_min: float, x_max: float
) -> str:
    """Horizontal box plots, one a row, on one axis from `x_min` to `x_max`."""
    left, right, bottom = 230, 200, 46
    plot_w, plot_h = WIDTH - left - right, _ROW * max(len(rows), 1) * 3 // 2
    height = _TOP + plot_h + bottom
    step = (x_max - x_min) / 10 or 1.0

    def x(v: float) -> float:
        return left + plot_w * (min(max(v, x_min), x_max) - x_min) / (x_max - x_min or 1.0)

    body = [_axes(left, _TOP, plot_w, plot_h)]
    for i in range(11):
        t = x_min + i * step
        body.append(_line(x(t), _TOP, x(t), _TOP + plot_h + 4, "#e4e4e4"))
        body.append(_text(x(t), _TOP + plot_h + 18, f"{t:.2f}", "middle"))
    row_h = plot_h / max(len(rows), 1)
    for i, r in enumerate(rows):
        mid = _TOP + row_h * (i + 0.5)
        body.append(_text(left - 8, mid + 4, r.label, "end"))
        body.append(
            f'<g class="box"><title>{escape(f"{r.label}: {r.note}")}</title>'
            + _line(x(r.low), mid, x(r.q1), mid, "#333")
            + _line(x(r.q3), mid, x(r.high), mid, "#333")
            + _line(x(r.low), mid - 6, x(r.low), mid + 6, "#333")
            + _line(x(r.high), mid - 6, x(r.high), mid + 6, "#333")
            + f'<rect x="{x(r.q1):.1f}" y="{mid - 9:.1f}" width="{max(x(r.q3) - x(r.q1), 1):.1f}" '
            f'height="18" fill="#cfe0f3" stroke="{_BAR}"/>'
            + _line(x(r.median), mid - 9, x(r.median), mid + 9, "#b03a2e", 3)
            + "</g>"
        )
        body.append(_text(WIDTH - right + 8, mid + 4, r.note, "start"))
    body.append(_text(left + plot_w / 2, height - 8, x_label, "middle"))
    return _svg(chart_id, title, height, body)


def _axes(left: float, top: float, w: float, h: float) -> str:
    return _line(left, top, left, top + h, "#333") + _line(left, top + h, left + w, top + h, "#333")


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
    )


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _rotated(x: float, y: float, text: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 {x:.1f} {y:.1f})">{escape(text)}</text>'
    )
