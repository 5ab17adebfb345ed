"""Headless Chromium as a renderer: an HTML report printed to an A4 PDF, an offline map saved as a PNG.

Chromium runs once per call with a throw-away profile, so parallel runs never share a profile lock. It is
looked for as ``chromium``, ``chromium-browser``, ``google-chrome`` on ``PATH`` (or ``$WEIHAI_GIS_CHROMIUM``);
``scripts/setup.sh --test`` installs Debian's ``chromium`` with ``fonts-noto-cjk`` so Chinese text renders
as glyphs, not boxes.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from weihai_gis.errors import OutputError, WeihaiGISError
from weihai_gis.files import atomic_path

__all__ = ["ChromiumError", "find_chromium", "print_pdf", "screenshot_png"]

log = logging.getLogger(__name__)

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--mute-audio",
)
#: CSS pixels per inch: a PNG at ``scale`` has ``96 * scale`` dots per inch at the CSS size.
CSS_DPI = 96


class ChromiumError(WeihaiGISError, RuntimeError):
    """Headless Chromium is missing or failed to render."""


def find_chromium() -> Path | None:
    """Return the Chromium/Chrome executable (``$WEIHAI_GIS_CHROMIUM`` first), or None when there is none."""
    env = os.environ.get("WEIHAI_GIS_CHROMIUM")
    if env:
        return Path(env) if Path(env).exists() else None
    for name in _NAMES:
        if found := shutil.which(name):
            return Path(found)
    return None


def _run(args: list[str], out: Path, timeout_s: float) -> None:
    exe = find_chromium()
    if exe is None:
        raise ChromiumError(
            "headless Chromium not found (looked for chromium, chromium-browser, google-chrome on PATH and "
            "$WEIHAI_GIS_CHROMIUM); install it, e.g. `apt-get install chromium fonts-noto-cjk`."
        )
    with tempfile.TemporaryDirectory(prefix="wg-chromium-") as profile:
        cmd = [str(exe), *_FLAGS, f"--user-data-dir={profile}", *args]
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ChromiumError(f"headless Chromium did not finish within {timeout_s:g} s") from exc
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ChromiumError(f"headless Chromium failed (exit {proc.returncode}) writing {out.name}: {tail}")


def _url(html_path: Path) -> str:
    if not html_path.exists():
        raise OutputError(f"{html_path}: no such HTML file to render")
    return html_path.resolve().as_uri()


def print_pdf(
    html_path: str | os.PathLike[str], pdf_path: str | os.PathLike[str], *, timeout_s: float = 120.0
) -> Path:
    """Print an HTML file to PDF as Chromium's print dialog would, with the page's ``@page`` size (A4).

    Parameters
    ----------
    html_path
        The page (e.g. ``report.html``).
    pdf_path
        Destination ``.pdf`` (written atomically; no browser header or footer).
    timeout_s
        Give up after this many seconds.

    Returns
    -------
    pathlib.Path
        ``pdf_path``.

    Raises
    ------
    ChromiumError
        When Chromium is missing or fails.
    """
    url = _url(Path(html_path))
    with atomic_path(pdf_path) as tmp:
        args = ["--no-pdf-header-footer", "--virtual-time-budget=5000", f"--print-to-pdf={tmp}", url]
        _run(args, Path(tmp), timeout_s)
    log.info("printed %s to %s", Path(html_path).name, pdf_path)
    return Path(pdf_path)


def screenshot_png(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    width_px: int = 1200,
    height_px: int = 900,
    scale: float = 2.0,
    wait_ms: int = 4000,
    timeout_s: float = 120.0,
) -> Path:
    """Save a screenshot of an HTML page (e.g. an offline map) as a PNG for documents.

    Parameters
    ----------
    html_path
        The page.
    png_path
        Destination ``.png`` (written atomically).
    width_px, height_px
        Viewport in CSS pixels.
    scale
        Device pixels per CSS pixel: the PNG is ``width_px * scale`` pixels wide, i.e. ``96 * scale`` dpi at
        the CSS size (2 → 192 dpi; a 1200 px wide map prints 15.9 cm wide at 192 dpi).
    wait_ms
        Virtual time the page's scripts get before the shot (the map draws its layers).
    timeout_s
        Give up after this many seconds.

    Returns
    -------
    pathlib.Path
        ``png_path``.

    Raises
    ------
    ChromiumError
        When Chromium is missing or fails.
    """
    if width_px <= 0 or height_px <= 0 or scale <= 0:
        raise ValueError(f"width_px, height_px and scale must be > 0, got {width_px}, {height_px}, {scale}")
    url = _url(Path(html_path))
    with atomic_path(png_path) as tmp:
        args = [
            f"--window-size={width_px},{height_px}",
            f"--force-device-scale-factor={scale:g}",
            f"--virtual-time-budget={wait_ms}",
            f"--screenshot={tmp}",
            url,
        ]
        _run(args, Path(tmp), timeout_s)
    log.info("saved %s as %s (%g dpi)", Path(html_path).name, png_path, CSS_DPI * scale)
    return Path(png_path)
