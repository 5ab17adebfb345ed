"""Click parameter types shared by the ``weihai-gis`` commands (click only, so any command module may import it)."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["FILE"]

FILE = click.Path(dir_okay=False, path_type=Path)
"""Type of an option or argument naming a file to read or write (value: :class:`~pathlib.Path`; a folder
is refused; inputs are checked when read)."""
