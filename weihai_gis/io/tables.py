"""The coverage summary as tables: the overall table as CSV, and CSV + per-unit sheets as XLSX."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from weihai_gis.files import atomic_path
from weihai_gis.lifecircle.problems import PROBLEM_HEADERS_ZH
from weihai_gis.lifecircle.results import CoverageResult

__all__ = ["write_summary_tables"]

log = logging.getLogger(__name__)


def write_summary_tables(
    res: CoverageResult,
    csv_path: str | os.PathLike[str],
    xlsx_path: str | os.PathLike[str],
    *,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> tuple[Path, Path]:
    """Write the overall table to ``csv_path`` (UTF-8 with BOM) and to the first sheet of ``xlsx_path``.

    The workbook has one more sheet per summary unit (``res.units``, geometry left out) and, when
    computed, the sheets 问题清单 (``res.problems``) and 缺失类别人口 (``res.missing_by_category``) with Chinese
    headers. Both files are written atomically.

    Parameters
    ----------
    res
        The coverage result.
    csv_path, xlsx_path
        Destinations.
    inputs
        Input files of the run (never overwritten).

    Returns
    -------
    tuple of pathlib.Path
        The CSV and XLSX paths.
    """
    table = res.overall()
    with atomic_path(csv_path, inputs=inputs) as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8-sig")
    with atomic_path(xlsx_path, inputs=inputs) as tmp, pd.ExcelWriter(tmp) as xlsx:
        table.to_excel(xlsx, index=False, sheet_name="summary")
        for name, frame in res.units.items():
            frame.drop(columns="geometry").to_excel(xlsx, index=False, sheet_name=name[:31])
        if res.problems is not None:  # 问题清单 and residents left out per category, Chinese headers
            problems = pd.DataFrame(res.problems).drop(columns="geometry", errors="ignore")
            problems.rename(columns=PROBLEM_HEADERS_ZH).to_excel(xlsx, index=False, sheet_name="问题清单")
        if res.missing_by_category is not None:
            res.missing_by_category.rename(columns=PROBLEM_HEADERS_ZH).to_excel(
                xlsx, index=False, sheet_name="缺失类别人口"
            )
    log.info("wrote %s, %s", csv_path, xlsx_path)
    return Path(csv_path), Path(xlsx_path)
