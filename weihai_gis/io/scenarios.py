"""Read named what-if scenarios (现状 / 规划 / variants) from a YAML file or a GeoPackage layer.

YAML (coordinates in ``crs``, default lon/lat EPSG:4326; paths relative to the YAML file)::

    version: 1
    crs: EPSG:4326
    scenarios:
      - name: 规划
        description: 新建一所小学，迁建一处菜市场
        add:
          - {category: primary_school, name: 新建小学, x: 122.0790, y: 37.5300}
        add_file: new_sites.gpkg        # optional: points with a category field
        remove: [node/1563921007]       # ids of the base run's facilities
        move:
          - {id: node/1567485506, x: 122.0801, y: 37.5311}
        network: cut_network.graphml    # optional: a cut network (edges closed), recomputed in full

GeoPackage: one layer (``scenarios``, else the first) of points with ``scenario``, ``action`` (add / remove /
move), ``category`` (add), ``id`` (remove, move), optional ``name``; a remove row's geometry is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import yaml

from weihai_gis.errors import InputFileError
from weihai_gis.files import require_input_file
from weihai_gis.planning.whatif import Scenario

__all__ = ["read_scenarios"]

_ACTIONS = ("add", "remove", "move")


def _points(rows: list[Any], crs: str, where: str, need: str) -> gpd.GeoDataFrame:
    if not isinstance(rows, list):
        raise InputFileError(f"{where}: expected a list of points ({{{need}: ..., x: ..., y: ...}}).")
    records = []
    for k, row in enumerate(rows):
        if not isinstance(row, dict) or need not in row or "x" not in row or "y" not in row:
            raise InputFileError(
                f"{where}, entry {k + 1}: expected {need}, x and y (coordinates in {crs}), got {row!r}."
            )
        try:
            x, y = float(row["x"]), float(row["y"])
        except (TypeError, ValueError):
            raise InputFileError(f"{where}, entry {k + 1}: x and y must be numbers, got {row!r}.") from None
        records.append(
            {**{k2: str(v) for k2, v in row.items() if k2 not in ("x", "y")}, "geometry": shapely.Point(x, y)}
        )
    if not records:
        return gpd.GeoDataFrame({need: []}, geometry=[], crs=crs)
    return gpd.GeoDataFrame(pd.DataFrame(records), geometry="geometry", crs=crs)


def _from_yaml(path: Path) -> list[Scenario]:
    from weihai_gis.layers.io import read_vector
    from weihai_gis.network import build_network

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputFileError(f"scenario file {str(path)!r}: not valid YAML ({exc}).") from exc
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list) or not data["scenarios"]:
        raise InputFileError(
            f"scenario file {str(path)!r}: expected a mapping with a non-empty 'scenarios' list "
            "(see weihai-gis plan whatif --help)."
        )
    crs = str(data.get("crs", "EPSG:4326"))
    out = []
    for n, item in enumerate(data["scenarios"]):
        where = f"scenario file {str(path)!r}, scenario {n + 1}"
        if not isinstance(item, dict) or not item.get("name"):
            raise InputFileError(f"{where}: every scenario needs a 'name' (e.g. 规划).")
        where = f"scenario file {str(path)!r}, scenario {item['name']!r}"
        if unknown := sorted(
            set(item) - {"name", "description", "add", "add_file", "remove", "move", "network"}
        ):
            raise InputFileError(
                f"{where}: unknown keys {unknown}; expected name, description, add, add_file, remove, move, network."
            )
        add = _points(item.get("add", []), crs, f"{where}, add", "category")
        if item.get("add_file"):
            extra = read_vector(path.parent / str(item["add_file"]), what=f"{where}, add_file")
            if "category" not in extra.columns:
                raise InputFileError(
                    f"{where}, add_file: field 'category' is missing; fields are {list(extra.columns)}."
                )
            add = pd.concat([add.to_crs(extra.crs), extra], ignore_index=True) if len(add) else extra
        remove = item.get("remove", [])
        if not isinstance(remove, list):
            raise InputFileError(f"{where}, remove: expected a list of facility ids, got {remove!r}.")
        network = None
        if item.get("network"):
            network = build_network(
                require_input_file(path.parent / str(item["network"]), what=f"{where}, network")
            )
        out.append(
            Scenario(
                name=str(item["name"]),
                add=gpd.GeoDataFrame(add, crs=add.crs),
                remove=tuple(str(r) for r in remove),
                move=_points(item.get("move", []), crs, f"{where}, move", "id"),
                network=network,
                description=str(item.get("description", "")),
            )
        )
    return out


def _from_layer(path: Path) -> list[Scenario]:
    import pyogrio

    from weihai_gis.layers.io import read_vector

    names = [str(n) for n, _ in pyogrio.list_layers(path)]
    frame = read_vector(path, layer="scenarios" if "scenarios" in names else None, what="scenario file")
    where = frame.attrs.get("source", str(path))
    for col in ("scenario", "action"):
        if col not in frame.columns:
            raise InputFileError(f"{where}: field {col!r} is missing; fields are {list(frame.columns)}.")
    bad = ~frame["action"].astype(str).isin(_ACTIONS)
    if bad.any():
        raise InputFileError(
            f"{where}, field 'action': {sorted(set(frame.loc[bad, 'action'].astype(str)))} in {int(bad.sum())} rows; "
            f"expected one of {', '.join(_ACTIONS)}."
        )
    out = []
    for name, rows in frame.groupby(frame["scenario"].astype(str), sort=False):
        act = rows["action"].astype(str)
        need = {"add": "category", "remove": "id", "move": "id"}
        for action, field in need.items():
            if (act == action).any() and field not in rows.columns:
                raise InputFileError(f"{where}, scenario {name!r}: {action} rows need field {field!r}.")
        out.append(
            Scenario(
                name=str(name),
                add=rows[act == "add"].reset_index(drop=True),
                remove=tuple(rows.loc[act == "remove", "id"].astype(str)) if "id" in rows else (),
                move=rows[act == "move"].reset_index(drop=True),
            )
        )
    return out


def read_scenarios(path: str | Path) -> list[Scenario]:
    """Read the named scenarios of a YAML file or a GeoPackage (see the module docstring for both formats).

    Raises
    ------
    InputFileError
        The file is missing or malformed; the message names the file, the scenario and the field.
    """
    p = require_input_file(path, what="scenario file")
    if p.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(p)
    return _from_layer(p)
