"""Run options as frozen, validated dataclasses: every default of a coverage run is declared here, once.

A parameter walks a straight line: CLI option → :class:`CoverageOptions` → :func:`weihai_gis.coverage` →
:class:`~weihai_gis.lifecircle.CoverageResult` (its metadata records the options) → renderers. Distances
planners tune with a citation (snapping limits, walking speeds, standards) stay in the YAML files of
:mod:`weihai_gis.standards`; ``None`` here means "the YAML value".
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weihai_gis.standards import Profile

__all__ = ["DEFAULT_PROFILE", "HEX_SIZE_RANGE_M", "OFFSET_CHECKS", "SERVICE_AREA_MODES", "CoverageOptions"]

#: Life-circle profile used when none is named (GB 50180-2018 城市居住区规划设计标准).
DEFAULT_PROFILE = "gb50180-2018"

#: Hexagon sizes (metres) the automatic grid chooses between: about 100 hexagons over the origins' extent,
#: i.e. 500 m for a whole city and finer for a district or a sample.
HEX_SIZE_RANGE_M = (100.0, 500.0)

#: How service areas (服务范围) are grouped: one per category (all its facilities), one per facility (may
#: overlap), or exclusive catchments (one per facility, each street piece to its nearest facility).
SERVICE_AREA_MODES = ("category", "facility", "catchment")

#: What to do when origins or facilities look GCJ-02/BD-09-shifted against the network.
OFFSET_CHECKS = ("error", "warn", "off")


@dataclass(frozen=True)
class CoverageOptions:
    """How a coverage run measures and summarises (one object from the CLI to the results metadata).

    Attributes
    ----------
    profile
        Life-circle profile name (``weihai_gis.standards.list_profiles()``) or a loaded profile.
    category_field
        Facility field holding facility kinds or category ids.
    population_field
        Origin field holding residents (absent: each origin counts as 1 person, with a warning).
    id_field
        Origin id field (default ``origin_id`` or ``id`` when present, else the row number).
    max_snap_m, min_component_nodes
        Snapping limits in metres and nodes; ``None`` takes ``standards/coverage-config.yaml``.
    offset_check
        ``"error"``, ``"warn"`` or ``"off"`` for GCJ-02/BD-09-shifted inputs.
    hex_size_m
        Side of the summary hexagons in metres; ``None`` chooses about 100 hexagons over the origins'
        extent within :data:`HEX_SIZE_RANGE_M`.
    walker
        Walker group (``adult``, ``elderly``, ``child``, ``wheelchair``; ``coverage-config.yaml``) for a run in
        walking *minutes*: each category's distance limit becomes a time budget at the ADULT reference speed
        (the standards' 15 min ≈ 1000 m, so 1000 m → 15 min), and each group walks that budget at its own
        speed (and, with ``dem_costs``, up and down the hills). ``None`` (default): the distance run in
        metres, as the standards measure.
    dem_costs
        DEM GeoTIFF (any CRS) giving the hills their walking time (Tobler 1993, uphill ≠ downhill); implies
        ``walker="adult"`` when no walker is named.
    profile_cache_dir
        Folder of the on-disk cache of the DEM sampled along the network's edges
        (:mod:`weihai_gis.network.profile_cache`): a later run with the same network and DEM file loads it
        instead of reading the DEM. ``None`` (default): sampled in this process. The CLI and the jobs use
        the network cache's folder (``--cache-dir``, else ``$WEIHAI_GIS_CACHE_DIR`` or the user cache).
        Not recorded in the results (no folder of the machine in outputs).
    """

    profile: str | Profile = DEFAULT_PROFILE
    category_field: str = "category"
    population_field: str = "population"
    id_field: str | None = None
    max_snap_m: float | None = None
    min_component_nodes: int | None = None
    offset_check: str = "error"
    hex_size_m: float | None = None
    walker: str | None = None
    dem_costs: str | os.PathLike[str] | None = None
    profile_cache_dir: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.walker is not None:
            from weihai_gis.standards import walker_groups

            groups = walker_groups()
            if self.walker not in groups:
                raise ValueError(f"walker must be one of {tuple(groups)} (or None), got {self.walker!r}.")
        for name in ("dem_costs", "profile_cache_dir"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
        if self.offset_check not in OFFSET_CHECKS:
            raise ValueError(f"offset_check must be one of {OFFSET_CHECKS}, got {self.offset_check!r}.")
        for name in ("hex_size_m", "max_snap_m"):
            value = getattr(self, name)
            if value is not None and not float(value) > 0:
                raise ValueError(f"{name} must be > 0 metres (or None for the default), got {value!r}.")
        if self.min_component_nodes is not None and int(self.min_component_nodes) < 1:
            raise ValueError(f"min_component_nodes must be >= 1, got {self.min_component_nodes!r}.")

    def replace(self, **changes: Any) -> CoverageOptions:
        """Return a copy with ``changes`` applied (validated again); unknown names raise ``TypeError``."""
        return dataclasses.replace(self, **changes)

    @property
    def timed(self) -> bool:
        """Whether the run measures walking minutes for a walker group (``walker`` or ``dem_costs`` given)."""
        return self.walker is not None or self.dem_costs is not None

    @property
    def walker_group(self) -> str | None:
        """The walker group of a timed run (``adult`` when only ``dem_costs`` is given), else ``None``."""
        return self.walker or ("adult" if self.dem_costs is not None else None)

    def as_dict(self) -> dict[str, Any]:
        """Return the options as a plain dict (for the results metadata; a profile object by its name).

        The DEM is recorded by its file name only (no folder of the machine in outputs).
        """
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["profile"] = getattr(self.profile, "name", self.profile)
        out["walker"] = self.walker_group
        del out["profile_cache_dir"]  # where this machine caches, not how the run was made
        if self.dem_costs is not None:
            out["dem_costs"] = Path(self.dem_costs).name
        return out
