"""Convert the 山大哈工大 OpenStreetMap extract to the ``.osm.pbf`` shipped in ``weihai_gis/data/``.

Run: ``.venv/bin/python scripts/build_hitwh.py [--src ../shared/data/osm/weihai-hitwh.osm] [--out PATH]``

The source is a real OSM API map download (cgimap 2.1.0) of the area around the Harbin Institute of Technology
(Weihai) and 山东大学（威海） campuses, whose metadata attributes (version, changeset, timestamp, user, uid) were
already removed. This script copies every node, way and relation with its id, coordinates (OSM's 1e-7° grid),
tags and members unchanged into a PBF written with ``add_metadata=false`` (so no metadata can come back), keeps
the download's bounds in the header, and writes atomically. Nothing is added, moved or invented.
``tests/test_hitwh_data.py`` rebuilds the file from the shared source when present and compares the content.

Licence: © OpenStreetMap contributors, ODbL 1.0 (see ``weihai_gis/data/SOURCES.md``).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import osmium
import osmium.version

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from weihai_gis.files import atomic_path, require_input_file  # noqa: E402

SOURCE = REPO.parent / "shared" / "data" / "osm" / "weihai-hitwh.osm"
OUT = REPO / "weihai_gis" / "data" / "weihai-hitwh.osm.pbf"
GENERATOR = (
    "weihai_gis scripts/build_hitwh.py (from an openstreetmap-cgimap 2.1.0 download, metadata removed)"
)


def convert(src: Path, out: Path) -> Counter[str]:
    """Copy ``src`` (OSM XML) to ``out`` (PBF without metadata, bounds kept); return object counts."""
    counts: Counter[str] = Counter()
    reader = osmium.io.Reader(str(src))
    box = reader.header().box()
    reader.close()
    header = osmium.io.Header()
    header.set("generator", GENERATOR)
    if box.valid():
        header.add_box(box)
    with atomic_path(out, inputs=(src,)) as tmp:
        writer = osmium.SimpleWriter(
            osmium.io.File(str(tmp), "pbf,add_metadata=false,pbf_dense_nodes=true"), header=header
        )
        try:
            for obj in osmium.FileProcessor(str(src)):
                counts[obj.type_str()] += 1
                if obj.is_node():
                    counts["tagged_node"] += bool(len(obj.tags))
                writer.add(obj)
        finally:
            writer.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    """Convert, then print what was written."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SOURCE)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    src = require_input_file(args.src, what="OSM extract")
    counts = convert(src, args.out)
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e3:.1f} kB; pyosmium {osmium.version.pyosmium_release}, "
        f"libosmium {osmium.version.libosmium_version}): {counts['n']} nodes ({counts['tagged_node']} tagged), "
        f"{counts['w']} ways, {counts['r']} relations"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
