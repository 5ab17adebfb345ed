"""Open the generated offline maps and report in Debian's headless Chromium (selenium + chromedriver)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from maps_data import make_layers, make_results, make_violations

from weihai_gis import maps
from weihai_gis.maps.planning_layers import LAYER_TITLES
from weihai_gis.report import build_report, write_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,900",
]


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists() or not Path(CHROMEDRIVER).exists():
        return f"Debian chromium/chromedriver not installed ({CHROMIUM}, {CHROMEDRIVER})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    yield from chromium_session(tmp_path_factory)


def chromium_session(tmp_path_factory):
    """Start headless Chromium under selenium (skip when unavailable); yield the driver, quit after."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    last_error = None
    for headless in ("--headless=new", "--headless"):
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in [headless, *FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        try:
            drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
            break
        except Exception as exc:  # try the legacy headless mode once
            last_error = exc
    else:
        pytest.skip(f"chromium could not start headless: {last_error}")
    drv.set_page_load_timeout(60)
    drv.get("about:blank")
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages")
    layers = make_layers()
    planning = maps.save_map(maps.planning_map(layers), out / "planning.html")
    coverage = maps.save_map(maps.coverage_map(make_results(layers), layers), out / "coverage.html")
    sight = maps.save_map(
        maps.sightlines_map(make_violations(layers), layers, viewshed=_viewshed(out / "v.tif")),
        out / "sightlines.html",
    )
    report = write_report(build_report(layers=layers, coverage=make_results(layers)), out / "report.html")
    return {
        "planning": planning,
        "coverage": coverage,
        "sightlines": sight,
        "report": report,
        "layers": layers,
    }


def _viewshed(path: Path) -> Path:
    import numpy as np
    import rasterio
    from maps_data import X0, Y0
    from rasterio.transform import from_origin

    from weihai_gis.crs import ANALYSIS_CRS

    data = (np.indices((100, 100)).sum(axis=0) % 7 == 0).astype("uint8")
    profile = {
        "driver": "GTiff",
        "height": 100,
        "width": 100,
        "count": 1,
        "dtype": "uint8",
        "crs": ANALYSIS_CRS,
        "transform": from_origin(X0, Y0 + 9000, 50.0, 50.0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_sightlines_map_draws_viewshed_image_from_a_data_uri(driver, pages):
    _open(driver, pages["sightlines"])
    srcs = driver.execute_script(
        "return Array.from(document.querySelectorAll('img.leaflet-image-layer')).map(i => i.src)"
    )
    assert len(srcs) == 1 and srcs[0].startswith("data:image/png;base64,")
    assert driver.execute_script("return document.querySelector('img.leaflet-image-layer').naturalWidth") > 0


def _open(driver, path: Path) -> tuple[list[str], list[dict]]:
    """Load ``path``; return (requested URLs, SEVERE console entries) of this page load."""
    driver.get_log("performance")  # drop events of earlier pages
    driver.get_log("browser")
    driver.get(path.as_uri())
    driver.execute_script("return document.readyState")
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            if msg["params"].get("documentURL", "").startswith("chrome://"):
                continue  # the browser's own new-tab page, not a request of the page under test
            urls.append(msg["params"]["request"]["url"])
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    return urls, severe


def _foreign_requests(urls: list[str], path: Path) -> list[str]:
    doc = path.as_uri()
    return [u for u in urls if not u.startswith("data:") and u.split("#")[0] != doc and u != "about:srcdoc"]


def _svg_paths(driver) -> int:
    return driver.execute_script("return document.querySelectorAll('.leaflet-overlay-pane svg path').length")


def test_request_log_sees_a_page_that_loads_a_file(driver, tmp_path):
    # control for the zero-request tests: a page loading a (missing) local image must show up as a request
    page = tmp_path / "control.html"
    page.write_text('<html><body><img src="missing.png"></body></html>', encoding="utf-8")
    urls, _severe = _open(driver, page)
    assert _foreign_requests(urls, page) == [(tmp_path / "missing.png").as_uri()]


@pytest.mark.parametrize("page", ["planning", "coverage", "sightlines"])
def test_offline_map_makes_no_network_requests_and_no_console_errors(driver, pages, page):
    urls, severe = _open(driver, pages[page])
    assert urls, "performance log captured no request at all (the document itself should be there)"
    assert _foreign_requests(urls, pages[page]) == []
    assert severe == []
    assert driver.execute_script("return typeof L !== 'undefined'")


def test_planning_map_lists_every_layer_in_layer_control_and_shows_legend(driver, pages):
    _open(driver, pages["planning"])
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim())"
    )
    expected = [LAYER_TITLES[name] for name, gdf in pages["layers"].items() if len(gdf)]
    assert sorted(labels) == sorted(expected)
    legend = driver.execute_script(
        "var e = document.getElementById('weihai-legend'); return e && e.innerText"
    )
    assert legend and "城市更新片区" in legend and "一带" in legend


def _layer_list_shown(driver) -> bool:
    return driver.execute_script(
        "var c = document.querySelector('.leaflet-control-layers');"
        "var list = c.querySelector('.leaflet-control-layers-list');"
        "return c.classList.contains('leaflet-control-layers-expanded') && list.offsetHeight > 0"
    )


def _expand_layer_control(driver) -> None:
    """Hover the layer-control button as a user does (Leaflet opens the list on mouseover)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    toggle = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-toggle")
    ActionChains(driver).move_to_element(toggle).perform()


@pytest.mark.parametrize("page", ["planning", "coverage", "sightlines"])
def test_layer_control_is_collapsed_to_a_button_until_hovered(driver, pages, page):
    _open(driver, pages[page])
    assert driver.execute_script("return document.querySelectorAll('.leaflet-control-layers').length") == 1
    assert not _layer_list_shown(driver)  # the map opens with the layer list folded away
    button = driver.execute_script(
        "var r = document.querySelector('.leaflet-control-layers').getBoundingClientRect();"
        "return [r.width, r.height]"
    )
    assert max(button) <= 60  # a button, not a panel over the map
    _expand_layer_control(driver)
    assert _layer_list_shown(driver)


def test_unticking_a_layer_removes_its_paths_and_reticking_restores_them(driver, pages):
    _open(driver, pages["planning"])
    _expand_layer_control(driver)
    before = _svg_paths(driver)
    n_districts = len(pages["layers"]["renewal_districts"])
    box = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find(l => l.textContent.includes(arguments[0])).querySelector('input')",
        LAYER_TITLES["renewal_districts"],
    )
    box.click()
    after_off = _svg_paths(driver)
    box.click()
    after_on = _svg_paths(driver)
    assert before - after_off == n_districts
    assert after_on == before


def test_coverage_map_draws_classed_choropleth_and_clusters_facilities(driver, pages):
    _open(driver, pages["coverage"])
    fills = driver.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-overlay-pane svg path'))"
        ".map(p => p.getAttribute('fill'))"
    )
    from weihai_gis.render.classes import RATE_COLORS

    assert set(RATE_COLORS) <= set(fills)  # all five classes drawn (fixture spans 5-95 %)
    clusters = driver.execute_script("return document.querySelectorAll('.marker-cluster').length")
    assert clusters > 0


def test_map_screenshot_is_not_blank(driver, pages):
    pil_image = pytest.importorskip("PIL.Image")

    _open(driver, pages["planning"])
    img = pil_image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    colours = img.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 20
    assert max(count for count, _ in colours) < 0.98 * img.width * img.height


def test_planning_map_of_embedded_dataset_opens_offline_and_draws_layers(driver, tmp_path):
    from weihai_gis.layers import DEFAULT_GPKG, load_layers

    if not Path(DEFAULT_GPKG).exists():
        pytest.skip(f"embedded dataset {DEFAULT_GPKG} not built yet")
    page = maps.save_map(maps.planning_map(load_layers()), tmp_path / "embedded.html")
    urls, severe = _open(driver, page)
    assert _foreign_requests(urls, page) == []
    assert severe == []
    assert _svg_paths(driver) > 0


def test_tianditu_map_without_key_requests_no_tiles_and_asks_for_the_key(driver, pages, tmp_path):
    page = maps.save_map(maps.planning_map(pages["layers"], basemap="tianditu"), tmp_path / "tdt.html")
    urls, severe = _open(driver, page)
    assert _foreign_requests(urls, page) == []
    assert severe == []
    note = driver.execute_script(
        "var e = document.querySelector('.weihai-tdt-note'); return e && e.innerText"
    )
    assert note and "?tk=" in note
    assert driver.execute_script("return document.querySelectorAll('img.leaflet-tile').length") == 0


def test_report_opens_offline_with_tables_and_rendered_embedded_map(driver, pages):
    urls, severe = _open(driver, pages["report"])
    assert _foreign_requests(urls, pages["report"]) == []
    assert severe == []
    n_tables = driver.execute_script("return document.querySelectorAll('table').length")
    assert n_tables >= 3
    assert driver.execute_script("return document.querySelectorAll('#category-table tr').length") > 1
    bars = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.chart rect.bar')).map(r => r.getBBox().width)"
    )
    assert bars and max(bars) > 0  # the inline SVG charts render
    frames = driver.find_elements("css selector", "iframe")
    assert frames
    driver.switch_to.frame(frames[0])
    try:
        assert driver.execute_script("return typeof L !== 'undefined'")
        assert (
            driver.execute_script("return document.querySelectorAll('.leaflet-overlay-pane path').length") > 0
        )
    finally:
        driver.switch_to.default_content()


def test_report_chart_labels_are_drawn_inside_the_chart(driver, pages, tmp_path):
    """Rendered by the browser's own fonts, no chart label starts left of the SVG (i.e. none is clipped)."""
    from weihai_gis.render.charts import svg_bar_chart, svg_paired_bar_chart

    labels = [
        "养老院/日间照料中心 / elderly_care",
        "街道服务中心/社区服务站 / community_service",
        "小学 / primary",
    ]
    page = tmp_path / "charts.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">'
        + svg_bar_chart(labels, [0.2, 0.7, 1.0], title="a")
        + svg_paired_bar_chart(labels, [0.2, 0.7, 1.0], [0.5, 0.9, 1.0], title="b")
        + "</body></html>",
        encoding="utf-8",
    )
    for path in (page, pages["report"]):
        _open(driver, path)
        boxes = driver.execute_script(
            "return Array.from(document.querySelectorAll('svg.chart text')).map(t => {"
            " const b = t.getBBox(); const w = t.ownerSVGElement.width.baseVal.value;"
            " return [b.x, b.x + b.width, w, t.textContent]; })"
        )
        assert boxes
        for x0, x1, width, text in boxes:
            assert x0 >= -0.5 and x1 <= width + 0.5, (text, x0, x1, width)


_LEAFLET_MAP = (
    "var m = Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)[0];"
)


def _labels_at(driver, zoom: int) -> list[str]:
    driver.execute_script(f"{_LEAFLET_MAP} window[m].setZoom({zoom}, {{animate: false}});")
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.wg-label'))"
        ".filter(e => e.getBoundingClientRect().width > 0).map(e => e.textContent)"
    )


def test_planning_map_shows_each_unit_layer_label_from_its_zoom(driver, pages):
    from maps_data import make_layers

    from weihai_gis.maps.context import LABEL_MIN_ZOOM

    layers = make_layers()
    _open(driver, pages["planning"])
    counties = set(layers["counties"]["name_zh"])
    towns = set(layers["town_areas"]["name_zh"])
    assert _labels_at(driver, LABEL_MIN_ZOOM["counties"] - 1) == []
    shown = set(_labels_at(driver, LABEL_MIN_ZOOM["counties"]))
    assert counties <= shown and not towns & shown
    assert counties | towns <= set(_labels_at(driver, LABEL_MIN_ZOOM["town_areas"]))


def test_legend_scrolls_only_vertically_and_fits_its_box(driver, pages):
    _open(driver, pages["coverage"])
    box = driver.execute_script(
        "var e = document.getElementById('weihai-legend');"
        "return [e.scrollWidth, e.clientWidth, e.getBoundingClientRect().width];"
    )
    scroll_w, client_w, width = box
    assert scroll_w <= client_w + 1  # no horizontal scrollbar
    assert width <= 260


_CHART_LABELS_JS = """
return Array.from(document.querySelectorAll('svg.chart')).flatMap(svg => {
  const labels = Array.from(svg.querySelectorAll('text.label'));
  if (!labels.length) return [];
  const column = parseFloat(labels[0].getAttribute('x')) + 6;  // right-aligned 6 px inside the column
  return labels.map(t => {
    const b = t.getBBox();
    return {text: t.textContent, left: b.x, right: b.x + b.width, column: column, font: getComputedStyle(t).fontFamily};
  });
});
"""


def _clipped_chart_labels(driver, page: Path) -> tuple[list[dict], list[dict]]:
    """Return (every bar-chart label box, the clipped or shortened ones) of the report at ``page``."""
    _open(driver, page)
    driver.execute_script("return document.fonts.ready.then(() => true)")
    boxes = driver.execute_script(_CHART_LABELS_JS)
    bad = [b for b in boxes if b["left"] < 0 or b["right"] > b["column"] + 0.5 or b["text"].endswith("…")]
    return boxes, bad


def _cjk_font_installed() -> bool:
    fc = shutil.which("fc-list")
    if fc is None:
        return False
    import subprocess

    listing = subprocess.run([fc, ":lang=zh"], capture_output=True, text=True, check=False).stdout
    return bool(listing.strip())


#: The profile's longest category names (gb50180-2018), given to the fixture's categories.
_LONG_NAMES = {"clinic": "街道服务中心/社区服务站", "market": "养老院/日间照料中心"}


def _long_named_report(path: Path) -> Path:
    """A report whose categories carry the profile's longest Chinese names."""
    layers = make_layers()
    res = make_results(layers)
    for frame in (res.categories, res.overall_table):
        frame["name_zh"] = [_LONG_NAMES.get(i, n) for i, n in zip(frame["id"], frame["name_zh"], strict=True)]
    return write_report(build_report(layers=layers, coverage=res), path)


def test_report_bar_chart_labels_are_not_clipped_with_the_cjk_font(driver, tmp_path):
    if not _cjk_font_installed():
        pytest.skip("no CJK font (scripts/setup.sh --test installs fonts-noto-cjk): the widths would be tofu")
    boxes, bad = _clipped_chart_labels(driver, _long_named_report(tmp_path / "report.html"))
    names = {b["text"] for b in boxes}
    assert any("养老院/日间照料中心" in n for n in names) and any(
        "街道服务中心/社区服务站" in n for n in names
    )
    assert bad == []
