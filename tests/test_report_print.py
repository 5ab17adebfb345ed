"""The report printed to A4 PDF by headless Chromium: page size and count, a page per section, rows never cut,
Chinese headings as text in an embedded Noto CJK font (no tofu boxes)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from maps_data import make_layers, make_results, make_violations

from weihai_gis.render.chromium import ChromiumError, find_chromium, print_pdf
from weihai_gis.report import build_report, write_report

pytestmark = pytest.mark.browser

A4_PT = (595.3, 841.9)
SECTION_HEADINGS = (
    "生活圈覆盖率 / life-circle coverage",
    "三线管控 / sightline controls",
    "方法与参数 / method & parameters",
    "数据来源 / data provenance",
)


def _text(page) -> str:
    # Noto CJK's ToUnicode maps some glyphs to Kangxi radicals (⽣ U+2F63 for 生): NFKC folds them back
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", page.extract_text()))


def _fonts(reader) -> set[str]:
    names: set[str] = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            desc = font.get("/FontDescriptor")
            for part in [font, *(f.get_object() for f in font.get("/DescendantFonts") or [])]:
                desc = part.get("/FontDescriptor")
                names.add(str(part.get("/BaseFont", "")))
                if desc is not None:
                    desc = desc.get_object()
                    names |= {str(desc.get("/FontFamily", "")), str(desc.get("/FontName", ""))}
    return names


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    pypdf = pytest.importorskip("pypdf")
    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (scripts/setup.sh --test installs Debian's chromium)")
    layers = make_layers()
    res = make_results(layers)
    out = tmp_path_factory.mktemp("print")
    html = write_report(
        build_report(layers=layers, coverage=res, sightlines=make_violations(layers)), out / "report.html"
    )
    try:
        path = print_pdf(html, out / "report.pdf")
    except ChromiumError as exc:
        pytest.skip(f"chromium could not print: {exc}")
    reader = pypdf.PdfReader(path)
    return reader, [_text(p) for p in reader.pages], res


def test_report_prints_on_a_sane_number_of_a4_portrait_pages(pdf):
    reader, texts, _ = pdf
    assert 4 <= len(reader.pages) <= 25
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert w == pytest.approx(A4_PT[0], abs=2) and h == pytest.approx(A4_PT[1], abs=2)
    assert all(t.strip() for t in texts)  # no blank page


def test_every_section_starts_a_new_page(pdf):
    _, texts, _ = pdf
    for heading in SECTION_HEADINGS:
        starts = [i for i, t in enumerate(texts) if t.strip().startswith(heading)]
        assert starts, f"no page starts with {heading!r}"
    assert texts[0].startswith("威海精致城市建设分析报告")  # title, then the summary on the first page
    assert "摘要 / summary" in texts[0] and "全要素达标率" in texts[0]


def test_chinese_headings_are_text_in_an_embedded_noto_cjk_font(pdf):
    reader, texts, _ = pdf
    joined = " ".join(texts)
    for heading in ("摘要", "生活圈覆盖率", "各类设施覆盖率", "三线管控", "标准与出处", "数据来源"):
        assert heading in joined
    fonts = _fonts(reader)
    assert any("Noto Sans CJK" in f or "NotoSansCJK" in f for f in fonts), sorted(fonts)[:10]


def test_no_category_row_is_cut_across_pages(pdf):
    _, texts, res = pdf
    table = res.overall().set_index("id")
    for cid in res.category_ids:
        name = str(table.loc[cid, "name_zh"])
        rate = f"{100 * float(table.loc[cid, 'rate_network']):.1f}%"
        gap = f"{100 * float(table.loc[cid, 'gap']):+.1f} pt"
        # the row "<name> / <id>  <network>  <straight>  <gap>" reads as one line on one page
        row = re.compile(rf"{re.escape(name)} / {re.escape(cid)} {re.escape(rate)} \S+ {re.escape(gap)}")
        pages = [i for i, t in enumerate(texts) if row.search(t)]
        assert len(pages) == 1, (cid, pages)


def test_print_version_replaces_the_interactive_maps_with_a_note(pdf):
    _, texts, _ = pdf
    joined = " ".join(texts)
    assert "打印版不含交互地图" in joined
    assert "toggle layers top right" not in joined  # the screen-only hint is not printed


@pytest.fixture(scope="module")
def chromium():
    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (scripts/setup.sh --test installs Debian's chromium)")


def _png(path):
    from PIL import Image

    return Image.open(path).convert("L")


def test_chinese_renders_as_distinct_glyphs_not_boxes(chromium, tmp_path):
    import numpy as np

    from weihai_gis.render.chromium import screenshot_png

    # the report's font stack; with no CJK font every character is the same tofu box, so two different
    # strings of the same length render to the same pixels
    page = tmp_path / "glyphs.html"
    page.write_text(
        "<html><body style=\"margin:0;font:40px 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif\">"
        '<div style="height:60px">威海市环翠区</div><div style="height:60px">文登荣成乳山</div></body></html>',
        encoding="utf-8",
    )
    img = np.asarray(
        _png(screenshot_png(page, tmp_path / "glyphs.png", width_px=400, height_px=300, scale=1))
    )
    first, second = img[:60] < 128, img[60:120] < 128
    assert first.sum() > 500 and second.sum() > 500  # ink on both lines
    assert (first ^ second).sum() > 0.5 * max(first.sum(), second.sum())


def test_map_cli_exports_a_png_at_the_stated_size_and_dpi(chromium, tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from weihai_gis.cli import main

    out, png = tmp_path / "planning.html", tmp_path / "planning.png"
    args = ["-q", "map", "--out", str(out), "--png", str(png), "--png-size", "600", "400", "--dpi", "144"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    img = _png(png)
    assert img.size == (900, 600)  # 600 × 400 CSS px at 144 dpi = 1.5 device px per CSS px
    pixels = np.asarray(img)
    assert pixels.std() > 10  # a drawn map, not a blank page
    assert "144 dpi" in result.output


def test_report_cli_prints_a_pdf_beside_the_html(chromium, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from click.testing import CliRunner

    from weihai_gis.cli import main

    out, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    result = CliRunner().invoke(main, ["-q", "report", "--no-maps", "--out", str(out), "--pdf", str(pdf)])
    assert result.exit_code == 0, result.output
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) >= 2
    assert "方法与参数" in unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages))


def test_report_cli_refuses_a_pdf_path_that_is_an_input(tmp_path):
    import shutil

    from click.testing import CliRunner

    from weihai_gis.cli import main
    from weihai_gis.layers import DEFAULT_GPKG

    layers = tmp_path / "layers.gpkg"
    shutil.copy(DEFAULT_GPKG, layers)
    before = layers.read_bytes()
    args = ["report", "--layers", str(layers), "--out", str(tmp_path / "r.html"), "--pdf", str(layers)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "layers.gpkg" in result.output
    assert layers.read_bytes() == before


def test_main_job_map_pngs_are_printed_in_place_of_the_interactive_maps(chromium, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    from weihai_gis import maps
    from weihai_gis.jobs.main_job import MAP_PNG_DPI, MAP_PNG_SIZE_PX, _map_pngs

    layers = make_layers()
    res = make_results(layers)
    files = {
        "planning_map": maps.save_map(maps.planning_map(layers), tmp_path / "planning_map.html"),
        "coverage_map": maps.save_map(maps.coverage_map(res, layers), tmp_path / "coverage_map.html"),
    }
    images = _map_pngs(files, tmp_path, tuple(res.quality_notes()))
    assert set(images) == {"planning", "coverage"} and "coverage_map_png" in files
    want = tuple(round(v * MAP_PNG_DPI / 96) for v in MAP_PNG_SIZE_PX)
    assert _png(images["coverage"]).size == want
    from PIL import Image

    with Image.open(images["coverage"]) as img:  # the notice travels with the picture, and its DPI
        assert img.text["Description"] == "\n".join(res.quality_notes()) and res.quality_notes()
        assert img.info["dpi"] == pytest.approx((MAP_PNG_DPI, MAP_PNG_DPI), abs=0.5)
    page = build_report(layers=layers, coverage=res, map_images=images)
    assert page.count('class="map-print print-only"') == 2 and 'id="maps-print-note"' not in page
    pdf = print_pdf(write_report(page, tmp_path / "report.html"), tmp_path / "report.pdf")
    sizes = [
        (int(x.get_object()["/Width"]), int(x.get_object()["/Height"]))
        for p in pypdf.PdfReader(pdf).pages
        for x in (p["/Resources"].get("/XObject") or {}).values()
        if x.get_object().get("/Subtype") == "/Image"
    ]
    assert sizes.count(want) == 2  # both maps printed as the full-resolution pictures
