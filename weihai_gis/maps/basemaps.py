"""Basemaps: none (offline default), OpenStreetMap, 天地图 vector / imagery with labels, and Amap (GCJ-02).

天地图 (Tianditu) needs a personal key (``tk``). The key is written into the HTML only when asked
(``embed_token=True``). Otherwise the page reads it in the browser, in this order, from

1. the URL parameter ``?tk=KEY`` (the page then remembers it in ``localStorage["weihai_gis.tianditu_tk"]``),
2. ``localStorage["weihai_gis.tianditu_tk"]`` (set by an earlier visit with ``?tk=``),

and, when neither is present, never adds the Tianditu layers to the map (so no tile is requested) and shows a
short notice. So a report can be shared without leaking the key:
open it as ``map.html?tk=YOUR_KEY`` once per browser.

Amap (高德) tiles are in GCJ-02, our data in CGCS2000 (≈ WGS84). With ``basemap="amap"`` the overlays must be
shifted to GCJ-02 (the builders do this via :attr:`Basemap.datum`) and a warning is logged and returned.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode

__all__ = ["BASEMAPS", "TIANDITU_ENV", "Basemap", "add_basemap"]

log = logging.getLogger(__name__)

#: Environment variable read for the Tianditu key when none is passed.
TIANDITU_ENV = "TIANDITU_TOKEN"
_STORAGE_KEY = "weihai_gis.tianditu_tk"
_TDT_URL = "https://t{{s}}.tianditu.gov.cn/DataServer?T={layer}&x={{x}}&y={{y}}&l={{z}}&tk={{tk}}"
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> 审图号：GS(2024)0568号'
_OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

#: Basemap name -> (tile layer names, datum of the tiles). ``none`` draws no tiles (fully offline).
BASEMAPS: dict[str, tuple[tuple[str, ...], str]] = {
    "none": ((), "wgs84"),
    "osm": (("osm",), "wgs84"),
    "tianditu": (("vec_w", "cva_w"), "wgs84"),
    "tianditu-img": (("img_w", "cia_w"), "wgs84"),
    "amap": (("amap",), "gcj02"),
}


@dataclass(frozen=True)
class Basemap:
    """What :func:`add_basemap` added.

    Attributes
    ----------
    name
        Basemap name (a key of :data:`BASEMAPS`).
    datum
        Datum of the tiles: ``"wgs84"`` (also CGCS2000, same within centimetres) or ``"gcj02"``.
    warnings
        Human-readable warnings (Chinese / English), also logged.
    token_embedded
        True if a Tianditu key was written into the HTML.
    """

    name: str
    datum: str
    warnings: tuple[str, ...] = ()
    token_embedded: bool = False


class _TiandituKey(MacroElement):
    """Defines ``weihaiTiandituKey()`` in the page head; shows the layers if a key exists, else a notice."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script>
        function weihaiTiandituKey() {
            var key = null;
            try { key = new URLSearchParams(window.location.search).get("tk"); } catch (e) {}
            try {
                if (key) { window.localStorage.setItem({{ this.storage|tojson }}, key); }
                else { key = window.localStorage.getItem({{ this.storage|tojson }}); }
            } catch (e) {}
            return (key || "").trim();
        }
        </script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        if (weihaiTiandituKey()) {
            // The layers were created hidden; show them only when a key exists (no tile request otherwise).
            {%- for layer in this.layers %}
            {{ layer.get_name() }}.addTo({{ this._parent.get_name() }});
            {%- endfor %}
        } else {
            var tdtNote = L.control({position: "topright"});
            tdtNote.onAdd = function () {
                var div = L.DomUtil.create("div", "weihai-tdt-note");
                div.style.cssText = "background:#fff8e1;padding:4px 6px;font:12px sans-serif;border:1px solid #c90";
                div.innerHTML = "天地图底图需要密钥：在地址后加 ?tk=您的密钥 / Tianditu basemap: append ?tk=YOUR_KEY";
                return div;
            };
            tdtNote.addTo({{ this._parent.get_name() }});
        }
        {% endmacro %}
        """
    )

    def __init__(self, layers: list[folium.TileLayer]) -> None:
        super().__init__()
        self._name = "TiandituKey"
        self.storage = _STORAGE_KEY
        self.layers = layers


def _tianditu_layer(layer: str, *, key: JsCode | str, overlay: bool, show: bool) -> folium.TileLayer:
    """Return one Web-Mercator Tianditu tile layer (``vec_w``, ``cva_w``, ``img_w``, ``cia_w``)."""
    names = {
        "vec_w": "天地图矢量 / Tianditu vector",
        "cva_w": "天地图注记 / Tianditu labels",
        "img_w": "天地图影像 / Tianditu imagery",
        "cia_w": "天地图影像注记 / Tianditu imagery labels",
    }
    return folium.TileLayer(
        tiles=_TDT_URL.format(layer=layer),
        attr=_TDT_ATTR,
        name=names[layer],
        overlay=overlay,
        control=True,
        subdomains="01234567",
        max_zoom=18,
        show=show,
        tk=key,
    )


def add_basemap(
    m: folium.Map,
    basemap: str = "none",
    *,
    tianditu_key: str | None = None,
    embed_token: bool = False,
) -> Basemap:
    """Add the tiles of ``basemap`` to the map.

    Parameters
    ----------
    m
        Map created with ``tiles=None``.
    basemap
        One of :data:`BASEMAPS`: ``none`` (no tiles; works offline), ``osm``, ``tianditu`` (vector + labels),
        ``tianditu-img`` (imagery + labels), ``amap`` (高德, GCJ-02 tiles).
    tianditu_key
        Tianditu key; ``None`` reads the environment variable ``TIANDITU_TOKEN``. Used only with
        ``embed_token=True``; otherwise the page reads the key in the browser (``?tk=`` / localStorage).
    embed_token
        Write the key into the HTML (anyone with the file can then read the key).

    Returns
    -------
    Basemap
        Name, tile datum, warnings and whether a key was embedded.

    Raises
    ------
    ValueError
        If ``basemap`` is unknown, or ``embed_token=True`` without a key.
    """
    if basemap not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}; expected one of {', '.join(BASEMAPS)}.")
    layers, datum = BASEMAPS[basemap]
    warnings: list[str] = []
    embedded = False
    if basemap.startswith("tianditu"):
        key = (tianditu_key or os.environ.get(TIANDITU_ENV, "")).strip()
        if embed_token:
            if not key:
                raise ValueError(f"embed_token=True needs a Tianditu key (argument or ${TIANDITU_ENV}).")
            js_key: JsCode | str = key
            embedded = True
        else:
            if key:
                log.info(
                    "Tianditu key not written into the HTML; open the page with ?tk=KEY once per browser."
                )
            js_key = JsCode("weihaiTiandituKey()")
        tiles = [
            _tianditu_layer(layers[0], key=js_key, overlay=False, show=embed_token).add_to(m),
            _tianditu_layer(layers[1], key=js_key, overlay=True, show=embed_token).add_to(m),
        ]
        if not embed_token:
            _TiandituKey(tiles).add_to(m)  # type: ignore[arg-type]  # add_to returns the TileLayer
    elif basemap == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr=_OSM_ATTR,
            name="OpenStreetMap",
            max_zoom=19,
        ).add_to(m)
    elif basemap == "amap":
        folium.TileLayer(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
            attr="&copy; 高德地图 Amap (GCJ-02)",
            name="高德地图 (GCJ-02) / Amap",
            subdomains="1234",
            max_zoom=18,
        ).add_to(m)
        msg = (
            "底图为GCJ-02坐标（高德），数据为CGCS2000/WGS84：叠加图层已偏移到GCJ-02显示，勿用于量测 / "
            "basemap tiles are GCJ-02 (Amap) but the data are CGCS2000/WGS84: overlays were shifted to GCJ-02 "
            "for display only."
        )
        log.warning(msg)
        warnings.append(msg)
    return Basemap(name=basemap, datum=datum, warnings=tuple(warnings), token_embedded=embedded)
