"""The embedded dataset, shipped as package data and found with :mod:`importlib.resources`.

``weihai.gpkg`` (built by ``scripts/build_data.py``) and ``SOURCES.md`` (source, licence, accuracy per layer)
live here, inside the package, so a wheel or sdist install has them. In a source tree ``data/`` at the top level
is a symbolic link to this folder::

    from weihai_gis import data

    data.path("weihai.gpkg")      # Path of the embedded GeoPackage
"""

from __future__ import annotations

from pathlib import Path

from weihai_gis.errors import WeihaiGISError

__all__ = ["path"]


def path(name: str) -> Path:
    """Return the filesystem path of one embedded data file.

    Parameters
    ----------
    name
        File name inside ``weihai_gis/data`` (e.g. ``"weihai.gpkg"``, ``"SOURCES.md"``).

    Returns
    -------
    Path
        Absolute path. The file may be absent in a source tree that has not been built yet (check ``exists()``).

    Raises
    ------
    WeihaiGISError
        When ``name`` leaves the data folder, or the package is installed somewhere that is not a
        filesystem (e.g. a zip), where GDAL could not open the file anyway.
    """
    if Path(name).name != name or name in ("", ".", ".."):
        raise WeihaiGISError(
            f"embedded data file {name!r}: expected a plain file name inside weihai_gis/data"
        )
    here = Path(__file__).parent
    if Path(__file__).is_file():  # a package folder on disk: what importlib.resources returns, ~8 ms sooner
        return (here / name).resolve()
    from importlib import resources

    resource = resources.files(__name__).joinpath(name)
    if not isinstance(resource, Path):
        raise WeihaiGISError(
            f"embedded data file {name!r}: weihai_gis is installed as {type(resource).__name__}, not as files; "
            "install it unzipped (pip install weihai-gis) so GDAL can open the data"
        )
    return resource.resolve()
