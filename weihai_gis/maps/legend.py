"""Map legend: plain HTML/CSS in a Leaflet control (no external fonts, images or scripts).

Builders describe what they draw as :class:`LegendSection` objects; :func:`add_legend` renders all sections of
a map into one collapsible box in the bottom-left corner (element id ``weihai-legend``): at most 240 px wide
with wrapped lines (it scrolls only vertically, within 45 % of the height), folded when the frame is small.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import folium
from branca.element import MacroElement
from folium.template import Template

__all__ = ["LegendItem", "LegendSection", "add_legend", "legend_html"]


@dataclass(frozen=True)
class LegendItem:
    """One swatch of the legend.

    Attributes
    ----------
    label
        Text, Chinese first (e.g. ``"一带 / coastal belt"``).
    color
        CSS colour of the fill or line.
    kind
        ``"fill"`` (square), ``"line"``, ``"dashed"`` (dashed outline) or ``"point"`` (circle).
    """

    label: str
    color: str
    kind: str = "fill"


@dataclass(frozen=True)
class LegendSection:
    """The legend entries of one map layer.

    Attributes
    ----------
    title
        Layer title as shown in the layer control.
    items
        Swatches.
    note
        Optional remark (e.g. "位置为近似 / approximate").
    """

    title: str
    items: tuple[LegendItem, ...] = field(default_factory=tuple)
    note: str = ""


_SWATCH = {
    "fill": "display:inline-block;width:14px;height:10px;background:{c};opacity:.8;border:1px solid #555;",
    "line": "display:inline-block;width:16px;height:0;border-top:3px solid {c};vertical-align:middle;",
    "dashed": "display:inline-block;width:14px;height:10px;border:2px dashed {c};",
    "point": "display:inline-block;width:10px;height:10px;border-radius:50%;background:{c};border:1px solid #333;",
}

_CSS = (
    "#weihai-legend{background:rgba(255,255,255,.92);padding:6px 8px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.35);font:12px/1.35 sans-serif;max-height:45vh;overflow-x:hidden;"
    "overflow-y:auto;width:max-content;max-width:240px;color:#222}"
    "#weihai-legend h4{margin:4px 0 2px;font-size:12px;overflow-wrap:anywhere}"
    "#weihai-legend .wl-item{overflow-wrap:anywhere;padding-left:20px;text-indent:-20px}"
    "#weihai-legend .wl-note{color:#666;font-size:11px}"
    "#weihai-legend summary{cursor:pointer;font-weight:bold}"
)


def legend_html(sections: list[LegendSection], *, title: str = "图例 / Legend") -> str:
    """Return the legend as an HTML fragment.

    Parameters
    ----------
    sections
        Legend sections in display order; empty sections are skipped.
    title
        Heading of the legend box.

    Returns
    -------
    str
        ``<div id="weihai-legend">...</div>`` with inline styles only.
    """
    parts = [f'<div id="weihai-legend"><details open><summary>{html.escape(title)}</summary>']
    for sec in sections:
        if not sec.items and not sec.note:
            continue
        parts.append(f'<div class="wl-section"><h4>{html.escape(sec.title)}</h4>')
        for item in sec.items:
            style = _SWATCH.get(item.kind, _SWATCH["fill"]).format(c=html.escape(item.color))
            parts.append(
                f'<div class="wl-item"><span style="{style}"></span> {html.escape(item.label)}</div>'
            )
        if sec.note:
            parts.append(f'<div class="wl-note">{html.escape(sec.note)}</div>')
        parts.append("</div>")
    parts.append("</details></div>")
    return "".join(parts)


class _Legend(MacroElement):
    """Leaflet control holding the legend HTML."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var legend = L.control({position: "bottomleft"});
                legend.onAdd = function () {
                    var div = L.DomUtil.create("div", "weihai-legend-control");
                    div.innerHTML = {{ this.html|tojson }};
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                legend.addTo({{ this._parent.get_name() }});
                // a small frame (e.g. the report's embedded maps) opens with the legend folded
                var box = document.querySelector("#weihai-legend details");
                if (box && (window.innerHeight < 600 || window.innerWidth < 700)) { box.open = false; }
            })();
        {% endmacro %}
        """
    )

    def __init__(self, fragment: str) -> None:
        super().__init__()
        self._name = "WeihaiLegend"
        self.html = fragment
        self.css = _CSS


def add_legend(m: folium.Map, sections: list[LegendSection], *, title: str = "图例 / Legend") -> None:
    """Add one legend box for ``sections`` to the map (bottom left).

    Parameters
    ----------
    m
        The map.
    sections
        Legend sections in display order.
    title
        Heading of the legend box.
    """
    _Legend(legend_html(sections, title=title)).add_to(m)


def add_source_note(m: folium.Map, lines: list[str]) -> folium.Map:
    """Add a fixed box at the bottom right listing data sources and their status (attribution, 估算 ...).

    Parameters
    ----------
    m
        The map.
    lines
        One line each, e.g. ``"路网、设施：OpenStreetMap 实际数据 © OpenStreetMap contributors (ODbL 1.0)"``;
        nothing is added when empty.

    Returns
    -------
    folium.Map
        ``m`` (for chaining).
    """
    if not lines:
        return m
    body = "<br>".join(html.escape(line) for line in lines)
    folium.Element(
        '<div class="weihai-source-note" style="position:absolute;bottom:18px;right:10px;max-width:45%;'
        "z-index:1000;background:rgba(255,255,255,.9);border:1px solid #999;padding:3px 6px;"
        f'font:11px sans-serif">{body}</div>'
    ).add_to(m.get_root().html)  # type: ignore[attr-defined]  # the root is a branca Figure
    return m
