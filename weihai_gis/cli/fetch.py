"""``weihai-gis fetch osm``: download Weihai's walking network and POIs with osmnx (needs internet)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from weihai_gis.files import atomic_path

__all__ = ["COMMANDS", "fetch"]

log = logging.getLogger(__name__)

_POI_TAGS: dict[str, bool | str | list[str]] = {
    "amenity": True,
    "shop": True,
    "leisure": True,
    "healthcare": True,
    "highway": "bus_stop",
}


@click.group("fetch")
def fetch() -> None:
    """Download source data into a local cache (needs internet)."""


@fetch.command("osm")
@click.option("--place", default="威海市, 山东省, 中国", show_default=True, help="Place name for Nominatim.")
@click.option(
    "--bbox",
    nargs=4,
    type=float,
    default=None,
    metavar="W S E N",
    help="Bounding box in degrees instead of --place.",
)
@click.option(
    "--cache",
    "cache_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for walk.graphml, pois.gpkg and buildings.gpkg (weihai-gis demo --osm-cache reads it).",
)
def fetch_osm(place: str, bbox: tuple[float, float, float, float] | None, cache_dir: str) -> None:
    """Download the walk network (GraphML) and POIs (GeoPackage) from OpenStreetMap with osmnx.

    \b
    $ weihai-gis fetch osm --place 威海市 --cache .cache/osm
    """
    try:
        import osmnx as ox
    except ModuleNotFoundError as exc:
        raise click.ClickException("osmnx is not installed: pip install 'weihai-gis[fetch]'") from exc
    import requests

    from weihai_gis.samples import FETCH_FILES

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    try:
        if bbox:
            graph = ox.graph_from_bbox(bbox, network_type="walk")
            pois = ox.features_from_bbox(bbox, tags=_POI_TAGS)
            buildings = ox.features_from_bbox(bbox, tags={"building": True})
        else:
            graph = ox.graph_from_place(place, network_type="walk")
            pois = ox.features_from_place(place, tags=_POI_TAGS)
            buildings = ox.features_from_place(place, tags={"building": True})
    except (requests.exceptions.RequestException, ConnectionError, OSError) as exc:
        click.echo(
            f"失败 / failed: cannot reach OpenStreetMap servers (offline?): {type(exc).__name__}", err=True
        )
        raise SystemExit(1) from exc
    with atomic_path(cache / FETCH_FILES["network"]) as tmp:
        ox.save_graphml(graph, tmp)
    for key, frame in (("facilities", pois), ("buildings", buildings)):
        keep = frame.reset_index().astype({"id": str})
        keep = keep[[c for c in keep.columns if keep[c].map(lambda v: not isinstance(v, list)).all()]]
        with atomic_path(cache / FETCH_FILES[key]) as tmp:
            keep.to_file(tmp, layer=key, driver="GPKG")
    click.echo(
        f"已下载 / downloaded into {cache}: {graph.number_of_nodes()} nodes, {len(pois)} POIs, "
        f"{len(buildings)} buildings; next: weihai-gis demo --osm-cache {cache} --out out/"
    )


COMMANDS = [fetch]
