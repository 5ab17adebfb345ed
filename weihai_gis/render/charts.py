"""Inline SVG bar charts of coverage shares for the report (no JavaScript chart library).

Bars take their colour from :mod:`weihai_gis.render.classes`, the classification the maps use. The label
column is as wide as the longest label needs (CJK characters count a full em), so long Chinese category names
such as 养老院/日间照料中心 are never clipped.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Sequence

from weihai_gis.render.classes import rate_color

__all__ = ["label_width_px", "svg_bar_chart", "svg_paired_bar_chart"]

_LABEL_FONT_PX = 12
_MIN_LABEL_W, _MAX_LABEL_W = 80, 420


def label_width_px(text: str, font_px: float = _LABEL_FONT_PX) -> float:
    """Return a safe upper estimate of the rendered width of ``text`` in pixels.

    Wide and full-width characters (CJK, full-width punctuation) count ``font_px``; others 0.66 em (wider
    than the average Latin glyph of a sans-serif font, so the estimate errs on the wide side).
    """
    em = sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.66 for ch in text)
    return em * font_px


def _label_column(labels: Sequence[str]) -> int:
    need = max((label_width_px(lab) for lab in labels), default=0.0) + 10
    return int(min(max(math.ceil(need), _MIN_LABEL_W), _MAX_LABEL_W))


def _fit(label: str, width: float) -> str:
    """Shorten ``label`` with an ellipsis so that it fits ``width`` pixels (only beyond the widest column)."""
    if label_width_px(label) <= width:
        return label
    while label and label_width_px(label + "…") > width:
        label = label[:-1]
    return label + "…"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _frame(width_px: int, height: int, title: str, label_w: int, bar_w: float) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width_px}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>'
    ]
    for frac in (0.0, 0.5, 1.0):
        x = label_w + frac * bar_w
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 20}" stroke="#ccc"/>'
            f'<text x="{x:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{frac:.0%}</text>'
        )
    return parts


def _label(label_w: int, y: float, label: str) -> str:
    text = html.escape(_fit(label, label_w - 10))
    return (
        f'<text class="label" x="{label_w - 6}" y="{y:.1f}" font-size="{_LABEL_FONT_PX}" '
        f'text-anchor="end">{text}</text>'
    )


def svg_bar_chart(
    labels: list[str],
    shares: list[float],
    *,
    title: str,
    width_px: int = 640,
    missing_labels: Sequence[str | None] | None = None,
) -> str:
    """Return an inline SVG horizontal bar chart of shares (0..1) drawn as percentages.

    Parameters
    ----------
    labels
        Bar labels (Chinese first).
    shares
        Values in 0..1 (NaN drawn as an empty bar labelled "无数据").
    title
        Accessible title of the chart.
    width_px
        Width of the SVG in pixels (the bars get what the label column leaves, at least 200 px).
    missing_labels
        Per value, the text drawn instead of a NaN bar (``None`` or absent: "无数据 / no data"), e.g.
        "未评估 / not assessed" for a category with no facility in the input.

    Returns
    -------
    str
        ``<svg ...>`` markup with one ``<rect class="bar">`` per value and one ``<text class="label">``
        per label.
    """
    row_h, pad = 22, 50
    label_w = _label_column(labels)
    width_px = max(width_px, label_w + pad + 200)
    bar_w = width_px - label_w - pad
    height = row_h * len(labels) + 30
    parts = _frame(width_px, height, title, label_w, bar_w)
    missing = list(missing_labels) if missing_labels is not None else [None] * len(labels)
    for i, (label, share, gone) in enumerate(zip(labels, shares, missing, strict=True)):
        y = i * row_h + 4
        parts.append(_label(label_w, y + 13, label))
        if _missing(share):
            text = html.escape(gone or "无数据 / no data")
            parts.append(f'<text x="{label_w + 4}" y="{y + 13}" font-size="11" fill="#888">{text}</text>')
            continue
        w = max(0.0, min(1.0, float(share))) * bar_w
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{rate_color(float(share))}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{100 * share:.1f}%</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_paired_bar_chart(
    labels: list[str],
    network: list[float],
    straight_line: list[float],
    *,
    title: str,
    width_px: int = 720,
    missing_labels: Sequence[str | None] | None = None,
) -> str:
    """Return an SVG chart with, per label, the network share and the straight-line share side by side.

    The network bar (``rect.bar``, coloured by rate class) sits above a grey straight-line bar
    (``rect.bar-buffer``); the text after them gives both and their gap in percentage points.

    Parameters
    ----------
    labels
        Category labels (Chinese first).
    network, straight_line
        Shares 0..1 per label (NaN: not assessed / no data).
    title
        Accessible title.
    width_px
        Width of the SVG in pixels (at least label column + 430 px).
    missing_labels
        Per label, the text drawn instead of NaN bars (default "无数据 / no data").

    Returns
    -------
    str
        ``<svg ...>`` markup.
    """
    row_h, pad = 32, 230
    label_w = _label_column(labels)
    width_px = max(width_px, label_w + pad + 200)
    bar_w = width_px - label_w - pad
    height = row_h * len(labels) + 48
    parts = _frame(width_px, height - 18, title, label_w, bar_w)
    key_y = height - 6
    parts.append(
        f'<rect x="{label_w}" y="{key_y - 9}" width="14" height="9" fill="{rate_color(0.7)}"/>'
        f'<text x="{label_w + 18}" y="{key_y}" font-size="10">路网 / network</text>'
        f'<rect x="{label_w + 120}" y="{key_y - 9}" width="14" height="9" fill="#999" fill-opacity="0.6"/>'
        f'<text x="{label_w + 138}" y="{key_y}" font-size="10">直线缓冲 / straight line</text>'
    )
    missing = list(missing_labels) if missing_labels is not None else [None] * len(labels)
    rows = zip(labels, network, straight_line, missing, strict=True)
    for i, (label, net, line, gone) in enumerate(rows):
        y = i * row_h + 4
        parts.append(_label(label_w, y + 15, label))
        if _missing(net) or _missing(line):
            text = html.escape(gone or "无数据 / no data")
            parts.append(f'<text x="{label_w + 4}" y="{y + 15}" font-size="11" fill="#888">{text}</text>')
            continue
        wn = max(0.0, min(1.0, float(net))) * bar_w
        wl = max(0.0, min(1.0, float(line))) * bar_w
        gap = 100 * (float(line) - float(net))
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{wn:.1f}" height="13" '
            f'fill="{rate_color(float(net))}"/>'
            f'<rect class="bar-buffer" x="{label_w}" y="{y + 15}" width="{wl:.1f}" height="9" '
            f'fill="#999" fill-opacity="0.6"/>'
            f'<text x="{label_w + max(wn, wl) + 4:.1f}" y="{y + 15}" font-size="11">'
            f"{100 * float(net):.1f}% · 直线 {100 * float(line):.1f}% · 差 {gap:+.1f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
