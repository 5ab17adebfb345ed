"""The validation report: issues (error / warning / gap) and per-layer counts, printable and raisable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from weihai_gis.errors import CRSError, LayerError
from weihai_gis.layers.schema import LayerSchema

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["Issue", "LayerSummary", "ValidationReport", "detail_label", "expected_label"]


@dataclass(frozen=True)
class Issue:
    """One finding of the validator.

    Attributes
    ----------
    severity
        ``"error"``, ``"warning"`` or ``"gap"``.
    file, layer, field
        Where: file name, dataset layer, column (None for whole-layer issues).
    ids
        Offending ``id`` values (or names for plan gaps).
    rows
        Offending row positions (0-based).
    message
        Full planner-readable message, starting with ``file, layer "name":``.
    kind
        ``file``, ``crs``, ``location``, ``offset``, ``geometry``, ``field``, ``category``, ``id``, ``count``
        or ``plan``.
    """

    severity: str
    file: str
    layer: str
    field: str | None
    ids: tuple[str, ...]
    rows: tuple[int, ...]
    message: str
    kind: str


@dataclass(frozen=True)
class LayerSummary:
    """Row counts of one layer for the report table."""

    name: str
    title_zh: str
    file: str
    n_rows: int
    expected: str
    detail: str = ""


@dataclass
class ValidationReport:
    """Everything the validator found, with helpers to print or raise."""

    issues: list[Issue] = field(default_factory=list)
    layers: dict[str, LayerSummary] = field(default_factory=dict)

    def _of(self, severity: str) -> list[Issue]:
        return [i for i in self.issues if i.severity == severity]

    @property
    def errors(self) -> list[Issue]:
        """Issues that make the data unusable as is."""
        return self._of("error")

    @property
    def warnings(self) -> list[Issue]:
        """Legal but suspicious findings."""
        return self._of("warning")

    @property
    def gaps(self) -> list[Issue]:
        """Honest gaps against the plan."""
        return self._of("gap")

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and gaps allowed)."""
        return not self.errors

    def text(self) -> str:
        """Return the report as printed by ``weihai-gis layers validate`` (Chinese-first, bilingual)."""
        lines = ["图层 layer | 中文 | 行数 rows | 预期 expected | 说明 detail"]
        for s in self.layers.values():
            lines.append(f"{s.name} | {s.title_zh} | {s.n_rows} | {s.expected} | {s.detail}".rstrip(" |"))
        lines.append(
            f"错误 errors: {len(self.errors)}, 警告 warnings: {len(self.warnings)}, 缺口 gaps: {len(self.gaps)}"
        )
        label = {"error": "错误 error", "warning": "警告 warning", "gap": "缺口 gap"}
        lines += [f"[{label[i.severity]}] {i.message}" for i in self.issues]
        verdict = "有效 valid" if self.ok else "无效 invalid"
        if self.ok and self.gaps:
            verdict += " (缺口已列出 / gaps listed above)"
        lines.append(f"结论 result: {verdict}")
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise :class:`CRSError` or :class:`LayerError` listing every error, if there is any."""
        errors = self.errors
        if not errors:
            return
        text = "\n".join(i.message for i in errors)
        if all(i.kind == "crs" for i in errors):
            raise CRSError(text)
        raise LayerError(f"{len(errors)} error(s):\n{text}")


def expected_label(schema: LayerSchema) -> str:
    """Return the human-readable expected count for the report table."""
    if schema.counts_by is not None:
        return " + ".join(f"{v} {k}" for k, v in schema.counts_by[1].items())
    if schema.expected_count is not None:
        return f"{schema.expected_count} (plan)" if schema.authored else str(schema.expected_count)
    return "—"


def detail_label(gdf: gpd.GeoDataFrame, schema: LayerSchema) -> str:
    """Return the counts per kind / status for the report table."""
    parts = []
    if schema.counts_by is not None and schema.counts_by[0] in gdf.columns:
        parts += [f"{v} {k}" for k, v in gdf[schema.counts_by[0]].value_counts().items()]
    if "status" in gdf.columns and len(gdf):
        parts += [f"{k}: {v}" for k, v in gdf["status"].value_counts().items()]
    return ", ".join(parts)
