"""Synthetic street grids, hill DEMs and barrier layers near Weihai, for tests, benchmarks and notebooks.

Nothing here is real data: every function builds a reproducible input from its arguments (and a seed), so a
test, a ``scripts/bench_*.py`` run and a planner's notebook can share the same fixtures. The module ships
inside the package (not in ``tests/``) because the benchmark scripts import it and must run on a machine
where only the package is installed; it has no dependency beyond the toolkit's own (rasterio for the DEMs).

- :func:`street_grid`: a square grid of straight edges in EPSG:4550; :func:`province_tile` /
  :func:`province_grid`: a jittered grid with missing streets, built tile by tile from tile indices alone.
- :func:`write_hill_dem`: Gaussian hills on a 1 arc-second EPSG:4326 GeoTIFF (ASTER GDEM's grid and CRS);
  :func:`random_hills` scatters them; :func:`write_hitwh_hill_dem` puts one over the shipped 山大哈工大 extract.
- :func:`primary_road_barriers`: a network's primary roads as barrier lines (a trunk road without crossings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from weihai_gis.network.graph import WalkNetwork

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ARC_SECOND_DEG",
    "CRS",
    "HITWH_DEM_GRID",
    "X0",
    "Y0",
    "Hill",
    "primary_road_barriers",
    "province_grid",
    "province_tile",
    "random_hills",
    "street_grid",
    "write_hill_dem",
    "write_hitwh_hill_dem",
]

#: Metric CRS of the synthetic networks (CGCS2000 / 3-degree Gauss-Kruger CM 123E, as the shipped data).
CRS = "EPSG:4550"
#: South-west corner (metres, EPSG:4550) of :func:`street_grid` by default: near Weihai.
X0, Y0 = 420_000.0, 4_150_000.0
#: One arc-second in degrees: the cell of ASTER GDEM and of the synthetic DEMs.
ARC_SECOND_DEG = 1 / 3600


# -- street grids ---------------------------------------------------------------------------------------------


def street_grid(
    side: int,
    spacing_m: float = 100.0,
    *,
    origin_xy: tuple[float, float] = (X0, Y0),
    crs: str = CRS,
    highway: str = "residential",
    source: str = "grid",
) -> WalkNetwork:
    """Return a ``side`` × ``side`` grid of straight edges ``spacing_m`` long.

    Node ``(i, j)`` (row ``i``, column ``j``) has id ``i * side + j`` and lies at
    ``(origin_x + j * spacing_m, origin_y + i * spacing_m)``. Edges come node by node, the one to the right
    before the one up, so edge positions are reproducible.

    Parameters
    ----------
    side
        Nodes per side (>= 2).
    spacing_m
        Block length in metres.
    origin_xy
        Coordinates of node 0 in ``crs``.
    crs
        Metric CRS of the coordinates.
    highway
        OSM ``highway`` value of every edge.
    source
        Network description for messages.
    """
    if side < 2:
        raise ValueError(f"a street grid needs at least 2 nodes per side, got {side}.")
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    node = (ii * side + jj).ravel()
    xy = np.column_stack([origin_xy[0] + jj.ravel() * spacing_m, origin_xy[1] + ii.ravel() * spacing_m])
    # per node: the edge to the right, then the edge up (where they exist)
    u = np.repeat(node, 2)
    v = np.stack([node + 1, node + side], axis=1).ravel()
    ok = np.stack([jj.ravel() < side - 1, ii.ravel() < side - 1], axis=1).ravel()
    u, v = u[ok], v[ok]
    frame = gpd.GeoDataFrame(
        {"u": u, "v": v, "highway": highway},
        geometry=shapely.linestrings(np.stack([xy[u], xy[v]], axis=1)),
        crs=crs,
    )
    return WalkNetwork.from_segments(frame, crs=crs, source=source)


#: South-west corner of :func:`province_grid` (metres, EPSG:4550).
PROVINCE_X0, PROVINCE_Y0 = 300_000.0, 4_000_000.0


def _unit_hash(keys: npt.NDArray[np.int64], mult: int) -> npt.NDArray[np.float64]:
    """Map integer keys to [0, 1) by multiplicative hashing (uint64 wrap-around): stable, no state."""
    with np.errstate(over="ignore"):
        h = keys.astype(np.uint64) * np.uint64(mult)
    return (h >> np.uint64(11)).astype(float) / 2.0**53


def province_tile(
    i: int, j: int, side: int, spacing_m: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return tile ``(i, j)`` of a jittered province grid: node ids, node xy, edges (u, v ids) into next tiles.

    Node ``(r, c)`` of the province (row ``r = i * side + a``) has id ``r * 10**7 + c`` and sits at its block
    corner jittered by ±30 % of a block by a hash of its id, so neighbouring tiles agree on shared nodes
    without being built; 8 % of the streets are missing (a hash of the edge).
    """
    a, b = np.meshgrid(np.arange(side + 1), np.arange(side + 1), indexing="ij")  # +1: edges into next tile
    r, c = (i * side + a).ravel(), (j * side + b).ravel()
    ids = r.astype(np.int64) * 10**7 + c
    jitter = _unit_hash(ids, 11400714819323198485) - 0.5
    jitter2 = _unit_hash(ids, 14029467366897019727) - 0.5
    xy = np.column_stack(
        [PROVINCE_X0 + (c + 0.6 * jitter) * spacing_m, PROVINCE_Y0 + (r + 0.6 * jitter2) * spacing_m]
    )
    own = np.flatnonzero((a.ravel() < side) & (b.ravel() < side))
    u = np.concatenate([ids[own], ids[own]])
    v = np.concatenate([ids[own] + 1, ids[own] + 10**7])
    drop = _unit_hash(u * 3 + v, 6364136223846793005) < 0.08
    return ids, xy, u[~drop], v[~drop]


def province_grid(tiles: Iterable[int], side: int, spacing_m: float) -> WalkNetwork:
    """Return the tiles ``tiles × tiles`` of the province (:func:`province_tile`) as one network."""
    tiles = list(tiles)
    ids, xy, us, vs = [], [], [], []
    for i in tiles:
        for j in tiles:
            t_ids, t_xy, u, v = province_tile(i, j, side, spacing_m)
            ids.append(t_ids)
            xy.append(t_xy)
            us.append(u)
            vs.append(v)
    node_ids, first = np.unique(np.concatenate(ids), return_index=True)
    node_xy = np.concatenate(xy)[first]
    u, v = np.concatenate(us), np.concatenate(vs)
    keep = np.isin(u, node_ids) & np.isin(v, node_ids)
    u, v = np.searchsorted(node_ids, u[keep]), np.searchsorted(node_ids, v[keep])
    used = np.unique(np.r_[u, v])
    remap = np.full(len(node_ids), -1)
    remap[used] = np.arange(len(used))
    u, v, node_ids, node_xy = remap[u], remap[v], node_ids[used], node_xy[used]
    geoms = shapely.linestrings(np.stack([node_xy[u], node_xy[v]], axis=1))
    return WalkNetwork(
        node_ids=node_ids,
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=shapely.length(geoms),
        edge_geometry=np.asarray(geoms, dtype=object),
        highway=np.full(len(u), "residential", dtype=object),
        crs=CRS,
        source="synthetic province fraction",
    )


# -- hill DEMs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hill:
    """A Gaussian hill ``height_m · exp(−(Δlon² + Δlat²) / radius_deg²)`` centred on ``(lon, lat)``."""

    lon: float
    lat: float
    height_m: float
    radius_deg: float


def random_hills(
    west: float, south: float, width_deg: float, height_deg: float, n: int = 12, seed: int = 0
) -> list[Hill]:
    """Return ``n`` hills of 30-120 m and 0.003-0.02° radius centred at random in the box (reproducible)."""
    rng = np.random.default_rng(seed)
    hills = []
    for _ in range(n):
        lon, lat = west + rng.uniform(0, width_deg), south + rng.uniform(0, height_deg)
        radius = rng.uniform(0.003, 0.02)
        hills.append(Hill(lon, lat, rng.uniform(30, 120), radius))
    return hills


def write_hill_dem(
    path: str | os.PathLike[str],
    hills: Sequence[Hill],
    *,
    west: float,
    south: float,
    cols: int,
    rows: int,
    base_m: float = 5.0,
    res_deg: float = ARC_SECOND_DEG,
    compress: str | None = None,
) -> Path:
    """Write ``base_m`` plus the ``hills`` as a float32 EPSG:4326 GeoTIFF and return its path.

    Parameters
    ----------
    path
        Output file (overwritten).
    hills
        Hills summed on the base level (none: a flat DEM at ``base_m``).
    west, south
        Outer south-west corner of the grid in degrees.
    cols, rows
        Grid size in cells of ``res_deg`` (elevations at the cell centres).
    base_m
        Elevation in metres away from the hills.
    res_deg
        Cell size in degrees (1 arc-second: ASTER GDEM's grid).
    compress
        GeoTIFF compression (e.g. ``"deflate"``), none by default.
    """
    import rasterio
    from affine import Affine

    c, r = np.meshgrid(np.arange(cols), np.arange(rows))
    lon = west + (c + 0.5) * res_deg
    lat = south + rows * res_deg - (r + 0.5) * res_deg
    z = np.full(lon.shape, float(base_m))
    for hill in hills:
        z += hill.height_m * np.exp(
            -(((lon - hill.lon) / hill.radius_deg) ** 2 + ((lat - hill.lat) / hill.radius_deg) ** 2)
        )
    profile = {
        "driver": "GTiff",
        "height": rows,
        "width": cols,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": Affine(res_deg, 0, west, 0, -res_deg, south + rows * res_deg),
    }
    if compress:
        profile["compress"] = compress
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z.astype("float32"), 1)
    return Path(path)


#: ``(west, south, cols, rows)`` of a 1 arc-second grid covering the shipped 山大哈工大 extract.
HITWH_DEM_GRID = (122.02, 37.50, 360, 216)


def write_hitwh_hill_dem(
    path: str | os.PathLike[str],
    *,
    height_m: float = 60.0,
    lon: float = 122.075,
    lat: float = 37.528,
    radius_deg: float = 0.01,
) -> Path:
    """Write one Gaussian hill on a 1 arc-second EPSG:4326 grid covering the shipped extract."""
    west, south, cols, rows = HITWH_DEM_GRID
    return write_hill_dem(
        path, [Hill(lon, lat, height_m, radius_deg)], west=west, south=south, cols=cols, rows=rows
    )


# -- barriers -------------------------------------------------------------------------------------------------


def primary_road_barriers(net: WalkNetwork) -> gpd.GeoDataFrame:
    """Return the network's ``highway=primary`` edges merged into lines, as a barrier layer in its CRS.

    A trunk road without crossings: with the OSM ``highway=crossing`` nodes as crossings it reopens where
    the map has a crossing.
    """
    primary = shapely.line_merge(shapely.union_all(net.edge_geometry[net.highway == "primary"]))
    lines = list(getattr(primary, "geoms", [primary]))
    return gpd.GeoDataFrame(geometry=lines, crs=net.crs)
