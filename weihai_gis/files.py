"""Safe file handling: atomic output writes, the paths of one run, and checks on input paths.

Outputs are written to a temporary file in the destination folder and moved into place only when complete,
so an interrupted run never leaves a half-written file and never destroys the previous result. Inputs are
only ever opened for reading: every command runs inside :func:`run_paths`, which knows all of its input
paths (symlinks followed), checks them and the output folders before any work starts, and makes every
:func:`atomic_path` of the run refuse to write onto an input, whether or not the writer passes the inputs.
Temporary files are named ``.<name>.wgtmp-<pid>-<token><suffix>``; those whose process has died (a killed
run) are swept from an output folder at the start of the next run, with the side files a driver made next
to them (``-journal``, ``-wal``). Temporaries of versions before this scheme (``tempfile.mkstemp``'s
``.<name>.<8 random characters><suffix>``) are swept once they are :data:`LEGACY_STALE_S` old.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from weihai_gis.errors import InputFileError, OutputError, WeihaiGISError

__all__ = [
    "RunPaths",
    "atomic_path",
    "current_run",
    "require_input_file",
    "run_paths",
    "sweep_stale_temporaries",
]

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]

_TMP_TAG = "wgtmp"
_TMP_RE = re.compile(rf"^\..*\.{_TMP_TAG}-(\d+)-[0-9a-f]{{8}}")
_LEGACY_RE = re.compile(
    r"^\..+\.[a-z0-9_]{8}\.(gpkg|html|csv|xlsx|txt|tif|npz|json|geojson)(-journal|-wal|-shm)?$"
)
LEGACY_STALE_S = 3600.0
"""Age (seconds since the last write) after which a temporary of the old ``mkstemp`` naming is swept: it
carries no process id, and no write of ours takes an hour without touching its file."""
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
_DISK_FULL_TEXT = ("no space left", "database or disk is full", "disk full")
DISK_FULL_BYTES = 1 << 20
"""A write that fails with less than this much free space left in its folder is reported as "disk full"."""
_NOT_WRITABLE_TEXT = ("read-only file system", "readonly database", "permission denied")


def require_input_file(path: PathLike, *, what: str = "input") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` after checking it is an existing, readable, non-empty file.

    Parameters
    ----------
    path
        The file the user named.
    what
        What the file is for (used in the message), e.g. ``"walking network"``.

    Raises
    ------
    InputFileError
        If the file does not exist, is a folder, is empty or cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{what} file {str(p)!r} does not exist.")
    if p.is_dir():
        raise InputFileError(f"{what} path {str(p)!r} is a folder; expected a file.")
    if p.stat().st_size == 0:
        raise InputFileError(f"{what} file {str(p)!r} is empty (0 bytes).")
    try:
        with p.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputFileError(f"{what} file {str(p)!r} cannot be read: {exc.strerror or exc}.") from exc
    return p


@dataclass(frozen=True)
class RunPaths:
    """Every path one command reads or writes, resolved with symlinks followed.

    Attributes
    ----------
    inputs
        Resolved input file → what the user called it (e.g. ``"--origins 'o.gpkg'"``).
    outputs
        Resolved output file → its label; includes files a command writes next to its ``--out``.
    folders
        Output folders (resolved).
    """

    inputs: dict[Path, str] = field(default_factory=dict)
    outputs: dict[Path, str] = field(default_factory=dict)
    folders: tuple[Path, ...] = ()

    def input_at(self, path: PathLike) -> str | None:
        """Return the label of the input that ``path`` is (same resolved path or same file), else None."""
        target = _resolve(path)
        if target in self.inputs:
            return self.inputs[target]
        if target.exists():
            for src, label in self.inputs.items():
                with contextlib.suppress(OSError):
                    if src.samefile(target):
                        return label
        return None


_RUN: contextvars.ContextVar[RunPaths | None] = contextvars.ContextVar("weihai_gis_run", default=None)


def current_run() -> RunPaths | None:
    """Return the paths of the run in progress (set by :func:`run_paths`), or None outside a run."""
    return _RUN.get()


def _resolve(path: PathLike) -> Path:
    return Path(path).expanduser().resolve()


@contextlib.contextmanager
def run_paths(
    *,
    inputs: Mapping[str, PathLike | None] | Iterable[tuple[str, PathLike | None]] = (),
    outputs: Mapping[str, PathLike | None] | Iterable[tuple[str, PathLike | None]] = (),
    folders: Mapping[str, PathLike | None] | Iterable[tuple[str, PathLike | None]] = (),
) -> Iterator[RunPaths]:
    """Check the paths of one run before any work, then make every :func:`atomic_path` inside refuse inputs.

    Checks, in order: every input exists, is a non-empty readable file; no output (nor a file a folder
    output will hold) is one of the inputs; every output folder can be written. Stale temporary files of
    killed runs are then swept from the output folders. Runs nest: an inner run adds to the outer's inputs.

    Parameters
    ----------
    inputs, outputs, folders
        ``(label, path)`` pairs (or a mapping label → path; None values are skipped). The label is how the
        user named the path, e.g. ``"--origins"``; messages show it with the path.

    Yields
    ------
    RunPaths

    Raises
    ------
    InputFileError
        A missing, empty or unreadable input, or an output that would replace an input.
    OutputError
        An output folder that cannot be written (read-only, forbidden).
    """
    outer = _RUN.get()
    run = RunPaths(
        inputs=dict(outer.inputs) if outer else {},
        outputs=dict(outer.outputs) if outer else {},
        folders=outer.folders if outer else (),
    )
    for label, path in _pairs(inputs):
        require_input_file(path, what=label)
        run.inputs[_resolve(path)] = f"{label} {os.fspath(path)!r}"
    for label, path in _pairs(outputs):
        _refuse_input(run, path, label)
        run.outputs[_resolve(path)] = f"{label} {os.fspath(path)!r}"
    new_folders = [_resolve(path) for _, path in _pairs(folders)]
    new_folders += [p.parent for p in run.outputs if p.parent not in new_folders]
    for folder in new_folders:
        _require_writable_folder(folder)
        sweep_stale_temporaries(folder)
    run = RunPaths(run.inputs, run.outputs, tuple(dict.fromkeys([*run.folders, *new_folders])))
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)


def _pairs(
    items: Mapping[str, PathLike | None] | Iterable[tuple[str, PathLike | None]],
) -> list[tuple[str, PathLike]]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return [(label, path) for label, path in pairs if path is not None and os.fspath(path) != ""]


def _refuse_input(run: RunPaths, path: PathLike, label: str) -> None:
    if (source := run.input_at(path)) is not None:
        raise InputFileError(
            f"refusing to write {label} {os.fspath(path)!r} onto the input file {source}; "
            "choose another output name or folder."
        )


def _require_writable_folder(folder: Path) -> None:
    """Raise :class:`OutputError` unless ``folder`` (or its nearest existing parent) accepts a new file."""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write to {str(folder)!r}: {str(existing)!r} is a file, not a folder.")
    probe = existing / f".probe.{_TMP_TAG}-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        probe.open("xb").close()
    except OSError as exc:
        raise OutputError(
            f"cannot write to {str(folder)!r} ({exc.strerror or exc}); choose a writable output folder."
        ) from exc
    probe.unlink()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _age_s(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def sweep_stale_temporaries(folder: PathLike) -> list[Path]:
    """Delete temporary files of our naming left in ``folder`` by runs whose process no longer exists.

    Parameters
    ----------
    folder
        An output folder (missing folders are ignored).

    Returns
    -------
    list of pathlib.Path
        The files removed (logged at INFO). Temporaries of live processes (a parallel run) are kept, and
        so are old-style (``mkstemp``) ones younger than :data:`LEGACY_STALE_S`.
    """
    removed: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    now = time.time()
    for entry in base.iterdir():
        if not entry.is_file():
            continue
        match = _TMP_RE.match(entry.name)
        if match is not None:
            if _pid_alive(int(match.group(1))):
                continue
        elif _LEGACY_RE.match(entry.name) is None or _age_s(entry, now) < LEGACY_STALE_S:
            continue
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            removed.append(entry)
    if removed:
        log.info("removed %d temporary files left by an interrupted run in %s", len(removed), base)
    return removed


def _oserror(exc: BaseException) -> OSError | None:
    """Return the first OSError in ``exc``'s cause/context chain (GDAL wrappers re-raise their own types)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError):
            return exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return None


def _write_failure(exc: BaseException, dest: Path) -> OutputError | None:
    """Translate a failed write into a message about the user's path, or None when it is not a disk error.

    GDAL reports a full disk in many ways ("Failed to commit transaction", "no such table: gpkg_contents"
    ...), so a failure while less than :data:`DISK_FULL_BYTES` remain free is taken as a full disk.
    """
    os_exc = _oserror(exc)
    code = os_exc.errno if os_exc is not None else None
    text = str(exc).lower()
    folder = dest.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if (
        code in _DISK_FULL
        or any(t in text for t in _DISK_FULL_TEXT)
        or (free is not None and free < DISK_FULL_BYTES)
    ):
        free_kb = "?" if free is None else str(free // 1024)
        return OutputError(
            f"disk full ({free_kb} KB free) writing {str(dest)!r}; free some space or choose an output folder "
            "on another disk."
        )
    if code in _NOT_WRITABLE or any(t in text for t in _NOT_WRITABLE_TEXT):
        reason = os_exc.strerror if os_exc is not None and os_exc.strerror else "not writable"
        return OutputError(f"cannot write to {str(folder)!r} ({reason}); choose a writable output folder.")
    return None


def _remove_temporary(tmp: Path) -> None:
    """Delete ``tmp`` and the side files a driver made next to it (``-journal``, ``-wal``, ``.aux.xml``)."""
    with contextlib.suppress(OSError):
        for path in [p for p in tmp.parent.iterdir() if p.name.startswith(tmp.name)]:
            if path.is_file():
                path.unlink()


@contextlib.contextmanager
def atomic_path(path: PathLike, *, inputs: tuple[PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path
        Final destination. Its parent folder is created if needed.
    inputs
        Input files of the run, in addition to those of the run in progress (:func:`run_paths`). Writing
        onto one of them is refused, so an input is never overwritten.

    Yields
    ------
    pathlib.Path
        A path in the same folder (same file system, so the final rename is atomic) with the same suffix.

    Raises
    ------
    InputFileError
        If ``path`` is one of the inputs.
    OutputError
        If the disk is full or the folder cannot be written; the message names ``path``, not the temporary.
    """
    dest = Path(path)
    run = current_run() or RunPaths()
    extra = {_resolve(p): f"{os.fspath(p)!r}" for p in inputs if Path(p).exists()}
    _refuse_input(RunPaths({**run.inputs, **extra}), dest, "output")
    tmp = dest.parent / f".{dest.stem}.{_TMP_TAG}-{os.getpid()}-{os.urandom(4).hex()}{dest.suffix}"
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        yield tmp  # the writer creates it (GDAL drivers refuse to open an empty file as a dataset)
        tmp.replace(dest)
    except WeihaiGISError:
        raise
    except Exception as exc:
        if (failure := _write_failure(exc, dest)) is None:
            raise
        raise failure from exc
    finally:
        _remove_temporary(tmp)
