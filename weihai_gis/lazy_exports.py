"""Lazy public names for a package (PEP 562): each name is imported on first access and kept.

The package ``__init__`` modules declare where each public name lives (``{"name": "package.module"}``) and
bind the two module hooks this returns, so that importing a package costs nothing until a name is used
(``import weihai_gis`` and the ``weihai-gis`` command line start without geopandas, folium or rasterio)::

    __getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    where: Mapping[str, str],
    public: Iterable[str],
    *,
    submodules: Iterable[str] = (),
    computed: Mapping[str, Callable[[], Any]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the module ``__getattr__`` and ``__dir__`` of ``package`` that import its names on first use.

    Parameters
    ----------
    package
        The package's ``__name__``.
    where
        Public name -> the module that defines it (imported on first access of the name).
    public
        The package's ``__all__`` (what ``dir()`` lists besides what is already loaded).
    submodules
        Submodule names reachable as attributes (``weihai_gis.maps``), imported on first access.
    computed
        Names whose value a function gives on first access (``__version__`` from the installed metadata).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``; a resolved name is stored in the package's namespace, so the hook runs
        once per name.
    """
    where = dict(where)
    subs = frozenset(submodules)
    made = dict(computed or {})
    listed = frozenset(public)

    def module_getattr(name: str) -> Any:
        if name in made:
            value = made[name]()
        elif name in where:
            value = getattr(import_module(where[name]), name)
        elif name in subs:
            value = import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def module_dir() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | listed)

    return module_getattr, module_dir
