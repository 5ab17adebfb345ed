"""The shipped 山大哈工大 OpenStreetMap extract: rebuilt from the shared source, same content, no metadata."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import osmium
import pytest

from weihai_gis.samples import HITWH_PBF

REPO = Path(__file__).resolve().parents[1]


def _content(path: Path) -> list[tuple]:
    """Every object as (type, id, tags, coordinates in 1e-7°, way nodes, relation members), sorted."""
    rows = []
    for o in osmium.FileProcessor(str(path)):
        tags = tuple(sorted((t.k, t.v) for t in o.tags))
        if o.is_node():
            rows.append(("n", o.id, tags, (o.location.x, o.location.y), (), ()))
        elif o.is_way():
            rows.append(("w", o.id, tags, (), tuple(n.ref for n in o.nodes), ()))
        else:
            members = tuple((m.type, m.ref, m.role) for m in o.members)
            rows.append(("r", o.id, tags, (), (), members))
    return sorted(rows)


def _build_module():
    spec = importlib.util.spec_from_file_location("build_hitwh", REPO / "scripts" / "build_hitwh.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_hitwh"] = module
    spec.loader.exec_module(module)
    return module


def test_rebuild_from_the_shared_osm_file_reproduces_the_shipped_pbf(tmp_path, shared_hitwh_osm):
    out = tmp_path / "rebuilt.osm.pbf"
    assert _build_module().main(["--src", str(shared_hitwh_osm), "--out", str(out)]) == 0
    assert _content(out) == _content(HITWH_PBF)
    assert _content(shared_hitwh_osm) == _content(HITWH_PBF)  # ids, coordinates, tags, members as downloaded


def test_shipped_pbf_has_no_metadata_and_keeps_the_download_bounds():
    reader = osmium.io.Reader(str(HITWH_PBF))
    box = reader.header().box()
    reader.close()
    assert (box.bottom_left.lon, box.bottom_left.lat) == pytest.approx((122.06205, 37.51916), abs=1e-7)
    assert (box.top_right.lon, box.top_right.lat) == pytest.approx((122.08884, 37.53780), abs=1e-7)
    meta = Counter()
    for o in osmium.FileProcessor(str(HITWH_PBF)):
        meta["version"] += o.version != 0
        meta["changeset"] += o.changeset != 0
        meta["uid"] += o.uid != 0
        meta["user"] += o.user != ""
        meta["timestamp"] += o.timestamp.year > 1970
    assert sum(meta.values()) == 0, meta


def test_shipped_pbf_holds_the_documented_counts():
    kinds: Counter[str] = Counter()
    highways: Counter[str] = Counter()
    buildings: Counter[str] = Counter()
    for o in osmium.FileProcessor(str(HITWH_PBF)):
        kinds[o.type_str()] += 1
        if o.is_way() and "highway" in o.tags:
            highways[o.tags["highway"]] += 1
        if o.is_way() and "building" in o.tags:
            buildings[o.tags["building"]] += 1
    assert (kinds["n"], kinds["w"], kinds["r"]) == (8317, 1417, 27)
    assert sum(highways.values()) == 302 and highways["service"] == 118 and highways["residential"] == 64
    assert buildings["apartments"] == 340 and buildings["residential"] == 14
