"""Map context drawn from the embedded layers: an offline land/sea fill and place-name labels by zoom.

Without basemap tiles a map is white; :func:`add_land_sea` paints the sea (and whatever lies outside the
city) pale blue and the city's land from its boundary polygon cream, under every other layer, so the coast
reads at a glance. :func:`add_labels` writes the Chinese names (``name_zh``) of counties, towns/streets and
renewal districts as permanent text at a representative point of each unit, each layer only from the zoom
where its labels stop overlapping (``LABEL_MIN_ZOOM``). A town area (an approximate Voronoi cell around its
seat) is labelled at its seat, the ``towns`` point of the same id, just above the seat's marker.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from weihai_gis.maps.prepare import web_frame

__all__ = [
    "LABEL_MIN_ZOOM",
    "LAND_COLOR",
    "SEA_COLOR",
    "add_labels",
    "add_land_sea",
    "add_unit_labels",
    "at_seats",
]

log = logging.getLogger(__name__)

#: Background of an offline map: the sea and everything outside the city.
SEA_COLOR = "#d4e6f5"
#: Fill of the city's land.
LAND_COLOR = "#f6f3ea"
#: Zoom from which the labels of each unit layer show (Weihai fits the screen at about zoom 9).
LABEL_MIN_ZOOM: dict[str, int] = {"counties": 8, "town_areas": 11, "renewal_districts": 13}
_LABEL_STYLE = {
    "counties": "font-size:14px;font-weight:bold;color:#333",
    "town_areas": "font-size:12px;color:#444",
    "renewal_districts": "font-size:11px;color:#08306b",
}
_CSS = (
    ".wg-label-icon{background:none;border:none}"
    ".wg-label{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;pointer-events:none;"
    "font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}"
    ".wg-label.wg-seat{transform:translate(-50%,-135%)}"
)


class _ZoomToggle(MacroElement):
    """Script adding ``group`` to the map only at zoom >= ``min_zoom`` (labels stay out of the layer control)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        {% macro script(this, kwargs) %}
            (function () {
                var map = {{ this._parent.get_name() }}, group = {{ this.group }};
                function update() {
                    if (map.getZoom() >= {{ this.min_zoom }}) { map.addLayer(group); }
                    else { map.removeLayer(group); }
                }
                map.on("zoomend", update);
                map.whenReady(update);
            })();
        {% endmacro %}
        """
    )

    def __init__(self, group: str, min_zoom: int) -> None:
        super().__init__()
        self._name = "WeihaiLabelZoom"
        self.group, self.min_zoom, self.css = group, int(min_zoom), _CSS


def add_labels(
    m: folium.Map,
    units: gpd.GeoDataFrame,
    *,
    layer: str,
    min_zoom: int | None = None,
    name_field: str = "name_zh",
    datum: str = "wgs84",
) -> int:
    """Label each unit of ``units`` with its name at a point inside it, shown from ``min_zoom`` on.

    Parameters
    ----------
    m
        The map.
    units
        Polygons or points with ``name_field`` and a CRS.
    layer
        Contract layer name (picks the style and the default zoom of :data:`LABEL_MIN_ZOOM`).
    min_zoom
        Smallest zoom that shows the labels (default from :data:`LABEL_MIN_ZOOM`, else 12).
    name_field
        Column holding the label text; rows without a name or a geometry are skipped.
    datum
        Basemap datum.

    Returns
    -------
    int
        Number of labels written.
    """
    if name_field not in units.columns or not len(units):
        return 0
    frame = web_frame(units, where=f"labels of {layer!r}", columns=[name_field], datum=datum).gdf
    frame = frame[frame[name_field].notna() & (frame[name_field].astype(str).str.strip() != "")]
    if frame.empty:
        return 0
    style = _LABEL_STYLE.get(layer, "font-size:11px;color:#333")
    group = folium.FeatureGroup(name=f"labels {layer}", control=False, show=False)
    for geom, text in zip(frame.geometry, frame[name_field].astype(str), strict=True):
        p = geom.representative_point()
        kind = "wg-label wg-seat" if geom.geom_type == "Point" else "wg-label"  # a point: text above it
        icon = folium.DivIcon(
            html=f'<div class="{kind}" style="{style}">{html.escape(text)}</div>',
            class_name="wg-label-icon",
            icon_size=(0, 0),
        )
        folium.Marker([p.y, p.x], icon=icon, interactive=False).add_to(group)
    group.add_to(m)
    _ZoomToggle(group.get_name(), LABEL_MIN_ZOOM.get(layer, 12) if min_zoom is None else min_zoom).add_to(m)
    return len(frame)


def at_seats(
    areas: gpd.GeoDataFrame, seats: gpd.GeoDataFrame | None, *, id_field: str = "id"
) -> gpd.GeoDataFrame:
    """Return ``areas`` with each geometry replaced by its seat point (same ``id_field``) where one is located.

    Areas without a located seat (no row of that id, or an empty/missing point) keep their polygon.
    """
    if seats is None or not len(seats) or id_field not in seats.columns or id_field not in areas.columns:
        return areas
    pts = seats[seats.geometry.notna() & ~seats.geometry.is_empty & (seats.geom_type == "Point")]
    pts = pts.to_crs(areas.crs).drop_duplicates(id_field).set_index(id_field).geometry
    seat = areas[id_field].map(pts)
    located = seat.notna().to_numpy()
    if not located.any():
        return areas
    out = areas.copy()
    geoms = out.geometry.to_numpy().copy()
    geoms[located] = seat[located].to_numpy()
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=areas.crs))


def add_unit_labels(
    m: folium.Map, layers: Mapping[str, gpd.GeoDataFrame], names: tuple[str, ...], *, datum: str = "wgs84"
) -> dict[str, int]:
    """Label the layers ``names`` of ``layers`` that exist (see :func:`add_labels`); return layer → count.

    Town areas are labelled at their seats (layer ``towns``) where the seat is located (:func:`at_seats`).
    """
    out = {}
    for name in names:
        gdf = layers.get(name)
        if gdf is not None and len(gdf):
            if name == "town_areas":
                gdf = at_seats(gdf, layers.get("towns"))
            out[name] = add_labels(m, gdf, layer=name, datum=datum)
    return out


def add_land_sea(m: folium.Map, city: gpd.GeoDataFrame | None, *, datum: str = "wgs84") -> bool:
    """Paint the map background as sea and the city's land polygon on a pane under every overlay.

    Parameters
    ----------
    m
        The map (meant for ``basemap="none"``: tiles would hide the fill).
    city
        The ``city_boundary`` layer (its polygon is the land of the city; the coastline is its sea edge).
    datum
        Basemap datum.

    Returns
    -------
    bool
        Whether the land was drawn (False without a city polygon).
    """
    folium.Element(f"<style>.leaflet-container{{background:{SEA_COLOR} !important}}</style>").add_to(
        m.get_root().header  # type: ignore[attr-defined]  # the root is a branca Figure
    )
    if city is None or not len(city):
        return False
    frame = web_frame(city, where="land fill (city_boundary)", simplify_m=20.0, columns=[], datum=datum).gdf
    if frame.empty:
        return False
    folium.map.CustomPane("wg-land", z_index=250, pointer_events=False).add_to(m)
    folium.GeoJson(
        frame[[frame.geometry.name]].to_json(drop_id=True),
        name="陆地 / land",
        pane="wg-land",
        control=False,
        interactive=False,
        style_function=lambda _f: {"stroke": False, "fillColor": LAND_COLOR, "fillOpacity": 1.0},
    ).add_to(m)
    return True
