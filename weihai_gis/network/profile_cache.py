"""On-disk cache of edge profiles: the DEM elevations sampled along a network's edges, for later processes.

Sampling a DEM along every edge (:func:`weihai_gis.network.profile.edge_profile`) is the largest part of a
first hilly run. A process that asks again for the same network on the same DEM file can load the profile
from ``<cache_dir>/profile-<key>.npz`` instead. The key is made of the DEM file's SHA-256, a digest of the
network (CRS, every edge's vertices bit for bit), the sample spacing of ``coverage-config.yaml`` and
:data:`PROFILE_FORMAT`, so another DEM, another network or other settings never share an entry. The arrays
are stored as they were computed (float64), so a loaded profile gives the same times bit for bit. A damaged
entry is a logged miss; a cache that cannot be written is logged and skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from weihai_gis.files import atomic_path

if TYPE_CHECKING:
    from weihai_gis.network.graph import WalkNetwork
    from weihai_gis.network.profile import EdgeProfile

__all__ = ["PROFILE_FORMAT", "load_profile", "profile_key", "save_profile"]

log = logging.getLogger(__name__)

#: Bumped when the sampling or the file layout changes, so old entries are never read.
PROFILE_FORMAT = 2  # 2: cut points interpolated between reprojected vertices (network.profile)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def profile_key(net: WalkNetwork, dem: str | os.PathLike[str], spacing_cells: float) -> str:
    """Return the cache key of ``net``'s profile on the DEM file ``dem`` at ``spacing_cells`` per cell."""
    coords, counts = net.edge_vertices()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(net.crs.encode())
    digest.update(np.ascontiguousarray(counts).tobytes())
    digest.update(np.ascontiguousarray(coords).tobytes())
    digest.update(np.ascontiguousarray(net.edge_length_m).tobytes())
    dem_hash = _file_sha256(Path(dem))[:24]
    return f"{dem_hash}-{digest.hexdigest()}-s{spacing_cells!r}-v{PROFILE_FORMAT}"


def load_profile(cache_dir: str | os.PathLike[str], key: str) -> EdgeProfile | None:
    """Return the profile cached under ``key``, or None (absent, or damaged: logged)."""
    from weihai_gis.network.profile import EdgeProfile

    path = Path(cache_dir) / f"profile-{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            profile = EdgeProfile(
                data["piece_offset"],
                data["piece_end_m"],
                data["piece_rise_m"],
                dem_source=str(meta["dem_source"]),
                cell_size_m=float(meta["cell_size_m"]),
            )
        if len(profile.piece_end_m) != len(profile.piece_rise_m) or profile.piece_offset[-1] != len(
            profile.piece_end_m
        ):
            raise ValueError("array sizes do not match")
    except Exception as exc:  # any damage: zip, npy header, JSON, keys, sizes
        log.warning(
            "edge profile cache %s is unreadable (%s); sampling the DEM again", path, type(exc).__name__
        )
        return None
    log.info("loading cached edge profile %s", path)
    return profile


def save_profile(cache_dir: str | os.PathLike[str], key: str, profile: EdgeProfile) -> None:
    """Write ``profile`` under ``key`` atomically (a failure is logged, never raised: a cache is optional)."""
    folder = Path(cache_dir)
    meta = json.dumps({"dem_source": profile.dem_source, "cell_size_m": profile.cell_size_m})
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / f"profile-{key}.npz") as tmp, tmp.open("wb") as fh:
            np.savez(
                fh,
                piece_offset=profile.piece_offset,
                piece_end_m=profile.piece_end_m,
                piece_rise_m=profile.piece_rise_m,
                meta=np.array(meta),
            )
    except Exception as exc:  # a full disk or a read-only folder must not fail the analysis
        log.warning("edge profile cache in %s not written: %s", folder, exc)
