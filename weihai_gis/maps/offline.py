"""Self-contained map HTML: inline every script, stylesheet and image from installed packages.

folium links its JavaScript/CSS from CDNs. :func:`inline_assets` rewrites the rendered page:

* Leaflet JS/CSS come from PyPI ``xstatic-leaflet`` (the same Leaflet 1.9.3 folium 0.20 links); the CSS's
  ``url(images/*.png)`` become data URIs and ``L.Icon.Default`` is pointed at data-URI marker images;
* Leaflet.markercluster JS/CSS come from ``xstatic-leaflet-markercluster``;
* jQuery, Bootstrap, glyphicons, Font Awesome and Leaflet.awesome-markers (folium defaults) are dropped —
  our builders draw with GeoJSON/CircleMarker/DivIcon, never ``folium.Icon`` — but only after checking that
  nothing in the page uses them (otherwise :class:`OfflineAssetError`);
* any other ``http(s)://`` script or stylesheet raises :class:`OfflineAssetError`.

Tile URLs inside scripts (basemaps) are left alone: a page with ``basemap="none"`` makes no request at all.
Nothing is vendored into the repository and folium's class-level link lists are never mutated.
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import re
from pathlib import Path

import folium
import xstatic.pkg.leaflet as xs_leaflet
import xstatic.pkg.leaflet_markercluster as xs_cluster

from weihai_gis.errors import WeihaiGISError
from weihai_gis.files import atomic_path

__all__ = ["OfflineAssetError", "inline_assets", "map_html", "remote_assets", "save_map"]

log = logging.getLogger(__name__)


class OfflineAssetError(WeihaiGISError):
    """A page needs a remote script/stylesheet that no installed package provides."""


_SCRIPT_RE = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK_RE = re.compile(r'<link\s+rel="stylesheet"\s+href="(?P<url>[^"]+)"\s*/?>', re.IGNORECASE)
_REMOTE_RE = re.compile(
    r'<(?:script[^>]*\ssrc|link[^>]*\shref)\s*=\s*["\'](?P<url>(?:https?:)?//[^"\']+)["\']', re.IGNORECASE
)

# folium defaults that we drop, with a regular expression telling whether the page uses them.
_DROPPABLE: dict[str, re.Pattern[str]] = {
    "glyphicons": re.compile(r"glyphicon"),
    "jquery": re.compile(r"\$\(|jQuery"),
    "bootstrap": re.compile(r'data-bs-|class="[^"]*\b(?:btn|modal|navbar|dropdown)\b'),
    "fontawesome": re.compile(r'\bfa-[a-z]|class="fa\b|class="fa[srb]?\s'),
    "awesome-markers": re.compile(r"AwesomeMarkers"),
    "awesome.rotate": re.compile(r"awesome-rotate"),
}


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _data_uri(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@functools.cache
def _leaflet_dir() -> Path:
    return Path(xs_leaflet.BASE_DIR)


@functools.cache
def _cluster_dir() -> Path:
    return Path(xs_cluster.BASE_DIR)


@functools.cache
def _leaflet_css() -> str:
    """leaflet.css with ``url(images/x.png)`` turned into data URIs."""
    base = _leaflet_dir()

    def repl(match: re.Match[str]) -> str:
        return f'url("{_data_uri(base / "images" / match.group(1))}")'

    return re.sub(r'url\(["\']?images/([\w.-]+\.png)["\']?\)', repl, _read(base / "leaflet.css"))


@functools.cache
def _icon_default_js() -> str:
    """Script pointing ``L.Icon.Default`` at data-URI images (used by any default L.marker)."""
    img = _leaflet_dir() / "images"
    return (
        "L.Icon.Default.prototype._getIconUrl = L.Icon.prototype._getIconUrl;"
        "L.Icon.Default.mergeOptions({"
        f'iconUrl:"{_data_uri(img / "marker-icon.png")}",'
        f'iconRetinaUrl:"{_data_uri(img / "marker-icon-2x.png")}",'
        f'shadowUrl:"{_data_uri(img / "marker-shadow.png")}"}});'
    )


def _local_script(url: str) -> str | None:
    """Inline replacement for a remote script, ``""`` to drop it, ``None`` if unknown."""
    name = url.rsplit("/", 1)[-1]
    if name == "leaflet.js":
        return _read(_leaflet_dir() / "leaflet.js") + "\n" + _icon_default_js()
    if name == "leaflet.markercluster.js":
        return _read(_cluster_dir() / "leaflet.markercluster.js")
    return None


def _local_css(url: str) -> str | None:
    name = url.rsplit("/", 1)[-1]
    if name == "leaflet.css":
        return _leaflet_css()
    if name in ("MarkerCluster.css", "MarkerCluster.Default.css"):
        return _read(_cluster_dir() / name)
    return None


def _droppable(url: str) -> str | None:
    low = url.lower()
    for key in _DROPPABLE:
        if key.replace("-", "") in low.replace("-", "").replace("_", ""):
            return key
    if "fortawesome" in low or "font-awesome" in low:
        return "fontawesome"
    return None


def remote_assets(page: str) -> list[str]:
    """Return the URLs of remote (``http(s)://`` or ``//``) scripts and stylesheets linked by ``page``.

    Parameters
    ----------
    page
        HTML text.

    Returns
    -------
    list of str
        URLs in page order; empty for a self-contained page.
    """
    return [m.group("url") for m in _REMOTE_RE.finditer(page)]


def inline_assets(page: str) -> str:
    """Return ``page`` with folium's CDN scripts/stylesheets inlined from installed packages.

    Parameters
    ----------
    page
        HTML rendered by folium (``m.get_root().render()``).

    Returns
    -------
    str
        Self-contained HTML (no remote script or stylesheet; images as data URIs).

    Raises
    ------
    OfflineAssetError
        If a remote asset has no installed replacement, or a dropped library is used by the page.
    """
    # Judge "is jQuery etc. used" on the page without its own <script src>/<link> tags.
    body = _LINK_RE.sub("", _SCRIPT_RE.sub("", page))
    problems: list[str] = []

    def script(match: re.Match[str]) -> str:
        url = match.group("url")
        if not re.match(r"(?:https?:)?//", url):
            return match.group(0)
        code = _local_script(url)
        if code is not None:
            return f"<script>{code}</script>"
        return _drop(url, match.group(0))

    def css(match: re.Match[str]) -> str:
        url = match.group("url")
        if not re.match(r"(?:https?:)?//", url):
            return match.group(0)
        sheet = _local_css(url)
        if sheet is not None:
            return f"<style>{sheet}</style>"
        return _drop(url, match.group(0))

    def _drop(url: str, tag: str) -> str:
        key = _droppable(url)
        if key is None:
            problems.append(f"{url} (no installed package provides it)")
            return tag
        if _DROPPABLE[key].search(body):
            problems.append(f"{url} (the page uses {key}, which is not available offline)")
            return tag
        log.debug("dropped unused %s", url)
        return ""

    out = _SCRIPT_RE.sub(script, page)
    out = _LINK_RE.sub(css, out)
    if "<head>" in out and 'rel="icon"' not in out:
        out = out.replace("<head>", '<head>\n<link rel="icon" href="data:,">', 1)
    if not problems:
        problems = [f"{url} (remote asset left in page)" for url in remote_assets(out)]
    if problems:
        raise OfflineAssetError("offline map still needs remote assets: " + "; ".join(problems))
    return out


def map_html(m: folium.Map, *, offline: bool = True) -> str:
    """Render the map to a full HTML page.

    Parameters
    ----------
    m
        The map.
    offline
        Inline all assets (see :func:`inline_assets`); ``False`` keeps folium's CDN links.

    Returns
    -------
    str
        HTML text.
    """
    page = m.get_root().render()
    return inline_assets(page) if offline else page


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = True) -> Path:
    """Write the map as one HTML file (atomically).

    Parameters
    ----------
    m
        The map.
    path
        Output ``.html`` path.
    offline
        Inline all scripts, stylesheets and images so the file opens without internet (default). Basemap
        tiles (``osm``, ``tianditu``, ...) are still fetched online; only ``basemap="none"`` is fully offline.

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    OfflineAssetError
        If ``offline`` and a remote script/stylesheet cannot be inlined.
    """
    page = map_html(m, offline=offline)
    dest = Path(path)
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s (%.0f KB, %s)", dest, dest.stat().st_size / 1024, "offline" if offline else "online")
    return dest
