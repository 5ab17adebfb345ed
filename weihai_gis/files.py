"""Safe file handling: atomic output writes and checks on input paths.

Outputs are written to a temporary file in the destination folder and moved into place only when complete,
so an interrupted run never leaves a half-written file and never destroys the previous result. Inputs are
only ever opened for reading.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from weihai_gis.errors import InputFileError

__all__ = ["atomic_path", "require_input_file"]


def require_input_file(path: str | os.PathLike[str], *, what: str = "input") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it is an existing, non-empty file.

    Parameters
    ----------
    path
        The file the user named.
    what
        What the file is for (used in the message), e.g. ``"walking network"``.

    Raises
    ------
    InputFileError
        If the file does not exist, is a folder, or is empty.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} file {str(p)!r} does not exist.")
    if p.is_dir():
        raise InputFileError(f"{what} path {str(p)!r} is a folder; expected a file.")
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} file {str(p)!r} is empty (0 bytes).")
    return p


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, inputs: tuple[str | os.PathLike[str], ...] = ()
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path
        Final destination. Its parent folder is created if needed.
    inputs
        Input files of the run. Writing onto one of them is refused, so an input is never overwritten.

    Yields
    ------
    pathlib.Path
        A path in the same folder (same file system, so the final rename is atomic) with the same suffix.

    Raises
    ------
    InputFileError
        If ``path`` is one of ``inputs``.
    """
    dest = Path(path)
    for src in inputs:
        if Path(src).exists() and dest.exists() and dest.resolve() == Path(src).resolve():
            raise InputFileError(
                f"refusing to write output onto input file {str(dest)!r}; choose another --out."
            )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let the writer create it (GDAL drivers refuse to open an empty file as a dataset)
    try:
        yield tmp
        tmp.replace(dest)
    finally:
        if tmp.exists():
            tmp.unlink()
